/**
 * A small browser-like HTTP client over `fetch` (`redirect: 'manual'`) with a real cookie jar, and a driver for
 * the OAuth authorization-code login: app login route → IdP authorize → IdP login form → credentials →
 * (auto consent) → app callback → final page.
 *
 * No vitest imports: also used by plain `tsx` scripts.
 */
import { defaultTreeAdapter as dom, parse, type DefaultTreeAdapterTypes } from 'parse5';
import { Cookie as ToughCookie, CookieJar as ToughCookieJar } from 'tough-cookie';

// ---------------------------------------------------------------------------------------------------------------
// Cookie jar: tough-cookie (RFC 6265) behind the small API the tests and the demo use
// ---------------------------------------------------------------------------------------------------------------

/** A stored cookie as the tests read it (tough-cookie calls the name `key`). */
export interface Cookie {
  name: string;
  value: string;
  /** Host (host-only cookie) or domain (without leading dot). */
  domain: string;
  hostOnly: boolean;
  path: string;
  /** Epoch ms; undefined for a session cookie. */
  expires?: number;
  secure: boolean;
  httpOnly: boolean;
  sameSite?: string;
  creationTime: number;
}

export interface SetCookieOptions {
  /** URL the cookie is set for (host + default path). Default: `http://127.0.0.1/`. */
  url?: string | URL;
  domain?: string;
  path?: string;
  expires?: Date | number;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: string;
}

function expiryOf(cookie: ToughCookie): number {
  return cookie.expiryTime() ?? Infinity;
}

function isLive(cookie: ToughCookie, now: number): boolean {
  return expiryOf(cookie) > now;
}

function toView(cookie: ToughCookie): Cookie {
  const expires = expiryOf(cookie);
  return {
    name: cookie.key,
    value: cookie.value,
    domain: cookie.domain ?? '',
    hostOnly: cookie.hostOnly ?? false,
    path: cookie.path ?? '/',
    expires: Number.isFinite(expires) ? expires : undefined,
    secure: cookie.secure,
    httpOnly: cookie.httpOnly,
    sameSite: cookie.sameSite,
    creationTime: cookie.creation instanceof Date ? cookie.creation.getTime() : 0,
  };
}

/**
 * tough-cookie measures Max-Age from the cookie's last access, which every read moves, so a cookie that keeps
 * being sent would never expire. RFC 6265 (5.2.2) fixes the expiry when the cookie is received: store it as
 * Expires.
 */
function withFixedExpiry(cookie: ToughCookie, receivedAt: number): ToughCookie {
  if (typeof cookie.maxAge !== 'number') return cookie;
  cookie.expires = new Date(cookie.maxAge <= 0 ? 0 : receivedAt + cookie.maxAge * 1000);
  cookie.maxAge = null;
  return cookie;
}

/** A URL that a stored cookie could have come from, for writing it back. */
function originOf(cookie: ToughCookie): string {
  const host = cookie.domain ?? '127.0.0.1';
  return `${cookie.secure ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}${cookie.path ?? '/'}`;
}

export class CookieJar {
  readonly #jar: ToughCookieJar;

  /** Wraps `jar` when given (e.g. one configured differently); by default an in-memory tough-cookie jar. */
  constructor(jar = new ToughCookieJar()) {
    this.#jar = jar;
  }

  /** Stores the cookies of one `Set-Cookie` header value, as received from `url`; a browser ignores bad ones. */
  setCookie(header: string, url: string | URL, now = Date.now()): void {
    const cookie = ToughCookie.parse(header);
    if (!cookie) return;
    this.#jar.setCookieSync(withFixedExpiry(cookie, now), String(url), { now: new Date(now), ignoreError: true });
  }

  /** Stores every `Set-Cookie` of a response (uses `headers.getSetCookie()`). */
  storeResponse(response: Response, url: string | URL = response.url): void {
    for (const header of response.headers.getSetCookie()) this.setCookie(header, url);
  }

  /** Cookies that would be sent to `url`, most specific path first (then oldest first). */
  cookiesFor(url: string | URL, now = Date.now()): Cookie[] {
    // Expiry is checked here against `now`, so that a test can look ahead in time.
    const cookies = this.#jar.getCookiesSync(String(url), { expire: false, sort: true });
    return cookies.filter((c) => isLive(c, now)).map(toView);
  }

  /** The `Cookie` request header value for `url` ('' when none). */
  cookieHeader(url: string | URL): string {
    return this.cookiesFor(url)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  /** Value of the first live cookie with that name (optionally the one that `url` would receive). */
  get(name: string, url?: string | URL): string | undefined {
    const list = url === undefined ? this.getAll() : this.cookiesFor(url);
    return list.find((c) => c.name === name)?.value;
  }

  /** Live cookies whose name matches (string prefix or RegExp), e.g. chunked `appSession.0`, `appSession.1`. */
  getAll(match?: string | RegExp): Cookie[] {
    const matches = (name: string) => match === undefined || (typeof match === 'string' ? name.startsWith(match) : match.test(name));
    return this.#stored()
      .filter((c) => matches(c.key))
      .map(toView);
  }

  /**
   * Sets (or overwrites) a cookie by hand, e.g. to tamper with a session cookie. Without `url`/`domain`, an
   * existing cookie with that name keeps its domain, path, flags and expiry; otherwise it is a host-only
   * HttpOnly cookie for 127.0.0.1 (or the host of `url`). Throws when tough-cookie refuses it.
   */
  set(name: string, value: string, options: SetCookieOptions = {}): void {
    const byHand = options.url === undefined && options.domain === undefined;
    const cookie = (byHand ? this.#stored().find((c) => c.key === name) : undefined) ?? new ToughCookie({ key: name, path: '/', httpOnly: true });
    cookie.value = value;
    if (options.domain !== undefined) cookie.domain = options.domain.replace(/^\./, '');
    if (options.path !== undefined) cookie.path = options.path;
    if (options.expires !== undefined) cookie.expires = new Date(options.expires);
    if (options.secure !== undefined) cookie.secure = options.secure;
    if (options.httpOnly !== undefined) cookie.httpOnly = options.httpOnly;
    if (options.sameSite !== undefined) cookie.sameSite = options.sameSite;
    this.#jar.setCookieSync(cookie, String(options.url ?? originOf(cookie)));
  }

  /** A copy of the jar (e.g. a second tab / a replayed session). */
  clone(): CookieJar {
    const copy = this.#jar.cloneSync();
    if (!copy) throw new Error('testkit: the cookie store cannot be cloned synchronously');
    return new CookieJar(copy);
  }

  /** Every live cookie, as copies (tough-cookie's synchronous way to list the whole store is to serialize it). */
  #stored(now = Date.now()): ToughCookie[] {
    const serialized = this.#jar.serializeSync()?.cookies ?? [];
    return serialized.map((c) => ToughCookie.fromJSON(c)).filter((c): c is ToughCookie => c !== undefined && isLive(c, now));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// HTML forms: parse5 builds the tree as a browser would; the entries follow the HTML form-submission rules
// ---------------------------------------------------------------------------------------------------------------

export interface ParsedForm {
  id?: string;
  action: string;
  method: string;
  /** Named fields in document order (hidden + text + password + checked boxes + selects' chosen option). */
  fields: Array<[string, string]>;
  /** Named submit buttons `[name, value]`. */
  submits: Array<[string, string]>;
  /** Attributes of the <form> tag. */
  attributes: Record<string, string>;
  /** Names of all inputs, whatever their type. */
  inputNames: string[];
}

type Element = DefaultTreeAdapterTypes.Element;
type ParentNode = DefaultTreeAdapterTypes.ParentNode;

/** What a control adds to its form's submission: a field, a submit button's pair, or nothing. */
type Entry = { kind: 'field' | 'submit'; value: string } | undefined;

const CONTROLS = new Set(['input', 'button', 'select', 'textarea']);

/** Elements under `node` in document order (a <template>'s content is not in the document). */
function* elementsIn(node: ParentNode): Generator<Element> {
  for (const child of dom.getChildNodes(node)) {
    if (!dom.isElementNode(child)) continue;
    yield child;
    yield* elementsIn(child);
  }
}

function attributesOf(element: Element): Record<string, string> {
  return Object.fromEntries(dom.getAttrList(element).map((a) => [a.name, a.value]));
}

function textOf(node: ParentNode): string {
  return dom
    .getChildNodes(node)
    .map((c) => (dom.isTextNode(c) ? dom.getTextNodeContent(c) : dom.isElementNode(c) ? textOf(c) : ''))
    .join('');
}

function hasAttribute(element: Element, name: string): boolean {
  return dom.getAttrList(element).some((a) => a.name === name);
}

/** The selected option, else the first enabled one; an option without a value submits its text. */
function selectEntry(select: Element): Entry {
  const options = [...elementsIn(select)].filter((e) => dom.getTagName(e) === 'option');
  const chosen = options.find((o) => hasAttribute(o, 'selected')) ?? options.find((o) => !hasAttribute(o, 'disabled'));
  if (!chosen) return undefined;
  return { kind: 'field', value: attributesOf(chosen).value ?? textOf(chosen).replace(/\s+/g, ' ').trim() };
}

function inputEntry(type: string, attrs: Record<string, string>): Entry {
  if (type === 'submit' || type === 'image') return { kind: 'submit', value: attrs.value ?? '' };
  if (type === 'button' || type === 'reset' || type === 'file') return undefined;
  if (type === 'checkbox' || type === 'radio') return 'checked' in attrs ? { kind: 'field', value: attrs.value ?? 'on' } : undefined;
  return { kind: 'field', value: attrs.value ?? '' };
}

function controlEntry(control: Element, attrs: Record<string, string>): Entry {
  if ('disabled' in attrs) return undefined;
  const type = (attrs.type ?? '').toLowerCase();
  switch (dom.getTagName(control)) {
    case 'button':
      return (type || 'submit') === 'submit' ? { kind: 'submit', value: attrs.value ?? '' } : undefined;
    case 'select':
      return selectEntry(control);
    case 'textarea':
      return { kind: 'field', value: textOf(control) };
    default:
      return inputEntry(type || 'text', attrs);
  }
}

function formOf(form: Element): ParsedForm {
  const attributes = attributesOf(form);
  const parsed: ParsedForm = {
    id: attributes.id,
    action: attributes.action ?? '',
    method: (attributes.method ?? 'get').toLowerCase(),
    fields: [],
    submits: [],
    attributes,
    inputNames: [],
  };
  for (const control of elementsIn(form)) {
    if (!CONTROLS.has(dom.getTagName(control))) continue;
    const attrs = attributesOf(control);
    if (!attrs.name) continue;
    parsed.inputNames.push(attrs.name);
    const entry = controlEntry(control, attrs);
    if (entry) (entry.kind === 'field' ? parsed.fields : parsed.submits).push([attrs.name, entry.value]);
  }
  return parsed;
}

/** Parses the <form> elements of an HTML page. */
export function parseForms(html: string): ParsedForm[] {
  return [...elementsIn(parse(html))].filter((e) => dom.getTagName(e) === 'form').map(formOf);
}

// ---------------------------------------------------------------------------------------------------------------
// Browser-like client
// ---------------------------------------------------------------------------------------------------------------

/** Requests to `from` origin go to `to` origin with extra `headers` (e.g. an IdP whose issuer is https://localhost). */
export interface HostRewrite {
  from: string;
  to: string;
  headers?: Record<string, string>;
}

export interface HopRecord {
  method: string;
  url: string;
  status: number;
  location?: string;
}

export interface ClientResponse {
  response: Response;
  /** Body text (already read from `response`). */
  body: string;
  /** Logical URL of the final response. */
  url: string;
  status: number;
  history: HopRecord[];
}

export interface BrowserClientOptions {
  jar?: CookieJar;
  /** Sent as `User-Agent`. Default: a desktop Chrome UA. */
  userAgent?: string;
  /** Added to every request. */
  extraHeaders?: Record<string, string>;
  rewrites?: HostRewrite[];
  maxRedirects?: number;
  /** Submit forms marked `data-testkit-autosubmit` (the IdP's logout confirmation). Default true. */
  autoSubmitForms?: boolean;
  /**
   * Send the headers of a browser navigation (`sec-fetch-dest: document`, `sec-fetch-mode: navigate`,
   * `sec-fetch-site`, `sec-fetch-user`, `upgrade-insecure-requests`, `accept-language`, `origin` on POST).
   * Default: true when the user agent starts with `Mozilla/`.
   */
  navigationHeaders?: boolean;
  /**
   * `fetch` (default): Node's fetch with `redirect: 'manual'`. Note that Node's fetch always sends
   * `sec-fetch-mode: cors` (it overrides ours) plus `accept-language: *` unless set.
   * `http`: node:http / node:https, which sends exactly the headers given (use it when header fidelity matters).
   */
  transport?: 'fetch' | 'http';
}

export const CHROME_USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | URLSearchParams;
  /** Follow redirects (default true). */
  follow?: boolean;
  /**
   * Origin of the page that caused this navigation (for `sec-fetch-site` / `origin`); null or absent means a
   * user-typed navigation (`sec-fetch-site: none`).
   */
  initiator?: string | null;
}

type SiteRelation = 'none' | 'same-origin' | 'same-site' | 'cross-site';
const SITE_RANK: Record<SiteRelation, number> = { none: 0, 'same-origin': 1, 'same-site': 2, 'cross-site': 3 };

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}

function registrable(host: string): string {
  if (isIp(host) || !host.includes('.')) return host;
  return host.split('.').slice(-2).join('.');
}

/** Fetch-metadata site relation of `target` to the `initiator` origin. */
export function siteRelation(initiator: string | null | undefined, target: URL): SiteRelation {
  if (!initiator) return 'none';
  const from = new URL(initiator);
  if (from.origin === target.origin) return 'same-origin';
  if (from.protocol === target.protocol && registrable(from.hostname) === registrable(target.hostname)) return 'same-site';
  return 'cross-site';
}

async function httpTransport(target: string, method: string, headers: Headers, body: string | undefined): Promise<Response> {
  const { request: httpRequest } = await import('node:http');
  const { request: httpsRequest } = await import('node:https');
  const u = new URL(target);
  const outgoing: Record<string, string> = {};
  headers.forEach((value, key) => {
    outgoing[key] = value;
  });
  if (body !== undefined) outgoing['content-length'] = String(Buffer.byteLength(body));
  return new Promise<Response>((resolve, reject) => {
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, { method, headers: outgoing }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const h = new Headers();
        for (let i = 0; i < res.rawHeaders.length; i += 2) h.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
        const status = res.statusCode ?? 0;
        const nullBody = status === 204 || status === 304 || method === 'HEAD';
        resolve(new Response(nullBody ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage, headers: h }));
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export class BrowserClient {
  readonly jar: CookieJar;
  userAgent: string;
  extraHeaders: Record<string, string>;
  rewrites: HostRewrite[];
  maxRedirects: number;
  autoSubmitForms: boolean;
  navigationHeaders: boolean;
  transport: 'fetch' | 'http';

  constructor(options: BrowserClientOptions = {}) {
    this.jar = options.jar ?? new CookieJar();
    this.userAgent = options.userAgent ?? CHROME_USER_AGENT;
    this.extraHeaders = { ...options.extraHeaders };
    this.rewrites = [...(options.rewrites ?? [])];
    this.maxRedirects = options.maxRedirects ?? 20;
    this.autoSubmitForms = options.autoSubmitForms ?? true;
    this.navigationHeaders = options.navigationHeaders ?? this.userAgent.startsWith('Mozilla/');
    this.transport = options.transport ?? 'fetch';
  }

  /** One request, no redirect following. Cookies are read from / stored into the jar using the logical URL. */
  async fetchOnce(url: string | URL, init: RequestOptions = {}): Promise<Response> {
    const logical = new URL(String(url));
    let target = logical.toString();
    let extra: Record<string, string> = {};
    for (const r of this.rewrites) {
      if (logical.origin === new URL(r.from).origin) {
        target = `${new URL(r.to).origin}${logical.pathname}${logical.search}`;
        extra = r.headers ?? {};
        break;
      }
    }
    const method = (init.method ?? 'GET').toUpperCase();
    const navigation: Record<string, string> = {};
    if (this.navigationHeaders) {
      const site = siteRelation(init.initiator, logical);
      Object.assign(navigation, {
        'accept-language': 'en-US,en;q=0.9',
        'upgrade-insecure-requests': '1',
        'sec-fetch-dest': 'document',
        'sec-fetch-mode': 'navigate',
        'sec-fetch-site': site,
        'sec-fetch-user': '?1',
      });
      if (method === 'POST') navigation.origin = init.initiator ?? 'null';
    }
    const headers = new Headers({
      'user-agent': this.userAgent,
      accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      ...navigation,
      ...this.extraHeaders,
      ...init.headers,
      ...extra,
    });
    const cookie = this.jar.cookieHeader(logical);
    if (cookie) headers.set('cookie', cookie);
    let body: string | undefined;
    if (init.body !== undefined) {
      body = String(init.body);
      if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded');
    }
    const response =
      this.transport === 'http' ? await httpTransport(target, method, headers, body) : await fetch(target, { method, headers, body, redirect: 'manual' });
    this.jar.storeResponse(response, logical);
    return response;
  }

  /**
   * A request that follows redirects like a browser (303/301/302 → GET; 307/308 keep method and body) and, when
   * enabled, auto-submits forms marked `data-testkit-autosubmit`.
   */
  async request(url: string | URL, init: RequestOptions = {}): Promise<ClientResponse> {
    const history: HopRecord[] = [];
    let current = new URL(String(url));
    let method = (init.method ?? 'GET').toUpperCase();
    let body = init.body;
    let headers = init.headers;
    // Fetch metadata: the initiator stays for the whole redirect chain and the relation only gets worse.
    let initiator = init.initiator ?? null;
    let worst: SiteRelation = 'none';
    for (let hop = 0; hop <= this.maxRedirects; hop += 1) {
      const relation = siteRelation(initiator, current);
      if (SITE_RANK[relation] > SITE_RANK[worst]) worst = relation;
      const response = await this.fetchOnce(current, {
        method,
        body,
        headers: initiator && this.navigationHeaders ? { 'sec-fetch-site': worst, ...headers } : headers,
        initiator,
      });
      const location = response.headers.get('location') ?? undefined;
      history.push({ method, url: current.toString(), status: response.status, location });
      if (init.follow !== false && location && response.status >= 300 && response.status < 400) {
        await response.arrayBuffer().catch(() => undefined);
        current = new URL(location, current);
        if (response.status === 303 || ((response.status === 301 || response.status === 302) && method !== 'GET' && method !== 'HEAD')) {
          method = 'GET';
          body = undefined;
          headers = undefined;
        }
        continue;
      }
      const text = await response.text();
      if (init.follow !== false && this.autoSubmitForms && /data-testkit-autosubmit/i.test(text)) {
        const form = parseForms(text).find((f) => 'data-testkit-autosubmit' in f.attributes);
        if (form) {
          const next = formSubmission(form, current);
          initiator = current.origin;
          worst = 'none';
          current = next.url;
          method = next.method;
          body = next.body;
          headers = undefined;
          continue;
        }
      }
      return { response, body: text, url: current.toString(), status: response.status, history };
    }
    throw new Error(`testkit: too many redirects starting at ${String(url)}: ${history.map((h) => `${h.status} ${h.url}`).join(' -> ')}`);
  }

  get(url: string | URL, headers?: Record<string, string>): Promise<ClientResponse> {
    return this.request(url, { headers });
  }

  /** Submits a parsed form from a page at `pageUrl`, overriding/adding `values`, then follows redirects. */
  submit(form: ParsedForm, pageUrl: string | URL, values: Record<string, string> = {}, submitter?: [string, string]): Promise<ClientResponse> {
    const page = new URL(String(pageUrl));
    const next = formSubmission(form, page, values, submitter);
    return this.request(next.url, { method: next.method, body: next.body, initiator: page.origin });
  }
}

function formSubmission(
  form: ParsedForm,
  pageUrl: URL,
  values: Record<string, string> = {},
  submitter?: [string, string],
): { url: URL; method: string; body?: string } {
  const params = new URLSearchParams();
  const seen = new Set<string>();
  for (const [name, value] of form.fields) {
    if (name in values) {
      if (!seen.has(name)) params.append(name, values[name]!);
      seen.add(name);
    } else {
      params.append(name, value);
    }
  }
  for (const [name, value] of Object.entries(values)) if (!seen.has(name) && !form.fields.some(([n]) => n === name)) params.append(name, value);
  const button = submitter ?? form.submits[0];
  if (button && button[0] && !params.has(button[0])) params.append(button[0], button[1]);
  const action = new URL(form.action || pageUrl.toString(), pageUrl);
  if (form.method === 'post') return { url: action, method: 'POST', body: params.toString() };
  action.search = params.toString();
  return { url: action, method: 'GET' };
}

// ---------------------------------------------------------------------------------------------------------------
// Authorization-code login driver
// ---------------------------------------------------------------------------------------------------------------

export interface LoginOptions {
  /** App base URL, e.g. `http://127.0.0.1:3000`. */
  appUrl: string;
  /** App route that starts the login. Default `/api/auth/login` (nextjs-auth0 v3). v4: `/auth/login`. */
  loginPath?: string;
  username: string;
  password: string;
  userAgent?: string;
  extraHeaders?: Record<string, string>;
  /** Reuse a jar (e.g. one that already holds an IdP session). */
  jar?: CookieJar;
  /** Reuse a client (its jar, UA and headers win over `jar`/`userAgent`/`extraHeaders`). */
  client?: BrowserClient;
  /** Host rewrites, e.g. `[idp.hostRewrite]` for an issuer of https://localhost. Undefined entries are skipped. */
  rewrites?: Array<HostRewrite | undefined>;
  /** See BrowserClientOptions. */
  transport?: 'fetch' | 'http';
  navigationHeaders?: boolean;
  /** Field names of the IdP login form. Default `username` / `password`. */
  usernameField?: string;
  passwordField?: string;
}

export interface LoginResult {
  jar: CookieJar;
  client: BrowserClient;
  /** The final (non-redirect) response; its body was read into `body`. */
  response: Response;
  body: string;
  /** Logical URL of the final response. */
  finalUrl: string;
  status: number;
  /** Every hop of the whole flow. */
  history: HopRecord[];
  /** True when the IdP login form was shown and submitted (false when an IdP session was reused). */
  loginFormSubmitted: boolean;
}

export class LoginError extends Error {
  constructor(
    message: string,
    readonly details: { status: number; url: string; body: string; history: HopRecord[] },
  ) {
    super(message);
    this.name = 'LoginError';
  }
}

function findLoginForm(html: string, usernameField: string, passwordField: string): ParsedForm | undefined {
  return parseForms(html).find((f) => f.inputNames.includes(usernameField) && f.inputNames.includes(passwordField));
}

export async function loginViaAuthorizationCodeFlow(options: LoginOptions): Promise<LoginResult> {
  const usernameField = options.usernameField ?? 'username';
  const passwordField = options.passwordField ?? 'password';
  const client =
    options.client ??
    new BrowserClient({
      jar: options.jar,
      userAgent: options.userAgent,
      extraHeaders: options.extraHeaders,
      rewrites: (options.rewrites ?? []).filter((r): r is HostRewrite => r !== undefined),
      transport: options.transport,
      navigationHeaders: options.navigationHeaders,
    });
  if (options.client && options.rewrites) {
    for (const r of options.rewrites) if (r && !client.rewrites.includes(r)) client.rewrites.push(r);
  }
  const history: HopRecord[] = [];
  const start = new URL(options.loginPath ?? '/api/auth/login', options.appUrl);

  let page = await client.get(start);
  history.push(...page.history);
  let loginFormSubmitted = false;

  for (let step = 0; step < 5; step += 1) {
    const loginForm = findLoginForm(page.body, usernameField, passwordField);
    if (loginForm) {
      if (loginFormSubmitted) {
        throw new LoginError(`login rejected by the IdP for user ${options.username}`, {
          status: page.status,
          url: page.url,
          body: page.body,
          history,
        });
      }
      loginFormSubmitted = true;
      page = await client.submit(loginForm, page.url, {
        [usernameField]: options.username,
        [passwordField]: options.password,
      });
      history.push(...page.history);
      continue;
    }
    // A consent-like page (a single form with a submit button on the IdP origin): accept it.
    const consent = parseForms(page.body).find((f) => /consent|confirm|authorize|allow/i.test(`${f.id ?? ''} ${f.action}`));
    if (consent && loginFormSubmitted && !new URL(page.url).href.startsWith(new URL(options.appUrl).origin)) {
      page = await client.submit(consent, page.url);
      history.push(...page.history);
      continue;
    }
    break;
  }

  if (page.status >= 400) {
    throw new LoginError(`login flow ended with HTTP ${page.status} at ${page.url}`, {
      status: page.status,
      url: page.url,
      body: page.body,
      history,
    });
  }
  return {
    jar: client.jar,
    client,
    response: page.response,
    body: page.body,
    finalUrl: page.url,
    status: page.status,
    history,
    loginFormSubmitted,
  };
}

export interface LogoutOptions {
  appUrl: string;
  /** Default `/api/auth/logout` (v3). v4: `/auth/logout`. */
  logoutPath?: string;
  client: BrowserClient;
}

/** App logout → IdP end_session (auto-confirmed) → post-logout redirect. */
export async function logoutViaApp(options: LogoutOptions): Promise<ClientResponse> {
  return options.client.get(new URL(options.logoutPath ?? '/api/auth/logout', options.appUrl));
}
