/**
 * Signature tables for the user-agent classifier (`classifier.ts`). Data only: no logic lives here.
 *
 * Conventions, checked by `test/classifier.test.ts`:
 * - Every user-agent pattern has exactly the `i` flag and no top-level `|`: the classifier joins a
 *   whole table into one bare alternation (one regex pass per table). Patterns starting with `^`
 *   go into a separate anchored alternation. To give one rule several spellings, repeat the rule
 *   name on several rows: bare literals, no `\b`, `?` or groups (docs/why-it-is-fast.md).
 * - Rule names are stable strings recorded in `auth.user_agent.rule`; renaming one is a breaking
 *   change for dashboards that filter on it.
 * - Patterns run against the user agent cut to 512 characters and trimmed.
 * - When two signatures match, the one that starts earlier in the user agent wins; at the same
 *   position, the one listed first wins (specific signatures are listed before generic ones).
 */

/** A user-agent signature: the rule name it reports and the pattern that finds it. */
export type UserAgentSignature = Readonly<{ rule: string; pattern: RegExp }>;

/** A header signature: present (no `pattern`) or a value matching `pattern`. Names are lower case. */
export type HeaderSignature = Readonly<{ rule: string; header: string; pattern?: RegExp }>;

/**
 * Prefetch and prerender requests: speculative, no human is waiting on them.
 * `Sec-Purpose: prefetch` (also `prefetch;prerender`, `prefetch;anonymous-client-ip`), Chrome's
 * `<link rel=prefetch>` `Purpose: prefetch`, the App Router's `Next-Router-Prefetch` (stripped
 * before middleware / proxy, still seen by route handlers) and the Pages Router's
 * `x-middleware-prefetch`.
 */
export const PREFETCH_HEADER_RULES: readonly HeaderSignature[] = [
  { rule: 'prefetch:sec-purpose', header: 'sec-purpose', pattern: /^\s*prefetch/i },
  { rule: 'prefetch:purpose', header: 'purpose', pattern: /^\s*prefetch/i },
  { rule: 'prefetch:next-router-prefetch', header: 'next-router-prefetch' },
  { rule: 'prefetch:x-middleware-prefetch', header: 'x-middleware-prefetch' },
];

/** Monitors that identify themselves in headers (these beat the user agent, which may be a browser's). */
export const MONITOR_HEADER_RULES: readonly HeaderSignature[] = [
  // Datadog Synthetics: `synthetics` (API tests) or `synthetics-browser` (browser tests).
  { rule: 'header:x-datadog-origin', header: 'x-datadog-origin', pattern: /^\s*synthetics/i },
  // "Request sent by a Datadog Synthetics Browser Test - test_id: …"
  { rule: 'header:sec-datadog', header: 'sec-datadog' },
  // New Relic: "Request sent by a synthetic monitor (https://docs.newrelic.com/…) - monitor id: …"
  { rule: 'header:x-abuse-info', header: 'x-abuse-info', pattern: /synthetic/i },
];

/**
 * Uptime, health-check and synthetic-monitoring user agents. Specific signatures come before the
 * generic `uptime` one so the rule names the product.
 */
export const MONITOR_USER_AGENTS: readonly UserAgentSignature[] = [
  // Vendor synthetics
  { rule: 'ua:datadog-synthetics', pattern: /Datadog\/Synthetic/i }, // API tests: "Datadog/Synthetics"
  { rule: 'ua:datadog-synthetics', pattern: /DatadogSynthetic/i }, // browser tests: "… Chrome/… DatadogSynthetics"
  { rule: 'ua:datadog-synthetics', pattern: /Datadog Synthetic/i },
  { rule: 'ua:datadog-agent', pattern: /Datadog Agent\//i }, // Agent http_check
  { rule: 'ua:newrelic-synthetics', pattern: /NewRelicSynthetics/i },
  { rule: 'ua:newrelic-pinger', pattern: /NewRelicbot/i },
  { rule: 'ua:newrelic-pinger', pattern: /NewRelicPinger/i },
  { rule: 'ua:cloudwatch-synthetics', pattern: /CloudWatchSynthetics/i },
  { rule: 'ua:ruxit-synthetic', pattern: /RuxitSynthetic/i }, // Dynatrace
  { rule: 'ua:synthetic-monitoring-agent', pattern: /synthetic-monitoring-agent/i }, // Grafana Cloud
  { rule: 'ua:k6', pattern: /k6\/\d/i }, // "Grafana k6/0.50.0", "k6/0.45.0 (https://k6.io/)"
  { rule: 'ua:checkly', pattern: /Checkly/i },
  { rule: 'ua:catchpoint', pattern: /Catchpoint/i },
  { rule: 'ua:thousandeyes', pattern: /ThousandEyes/i },
  { rule: 'ua:appinsights', pattern: /AppInsights/i }, // Azure Application Insights availability tests
  { rule: 'ua:sentry-uptime', pattern: /SentryUptimeBot/i },
  { rule: 'ua:ghost-inspector', pattern: /Ghost Inspector/i },
  { rule: 'ua:rigor', pattern: /; Rigor\)/i },
  { rule: 'ua:alertsite', pattern: /AlertSite/i },
  { rule: 'ua:dotcom-monitor', pattern: /Dotcom-Monitor/i },
  // Platform and load-balancer health checks
  { rule: 'ua:kube-probe', pattern: /kube-probe\//i },
  { rule: 'ua:elb-healthchecker', pattern: /ELB-HealthChecker\//i },
  { rule: 'ua:route53-health-check', pattern: /Amazon-Route53-Health-Check-Service/i },
  { rule: 'ua:googlehc', pattern: /GoogleHC\//i },
  { rule: 'ua:google-uptime-checks', pattern: /GoogleStackdriverMonitoring-UptimeChecks/i },
  { rule: 'ua:edge-health-probe', pattern: /Edge Health Probe/i }, // Azure Front Door
  { rule: 'ua:alwayson', pattern: /AlwaysOn(?!line)/i }, // Azure App Service, not CloudFlare-AlwaysOnline (an archiver)
  { rule: 'ua:azure-traffic-manager', pattern: /Azure Traffic Manager/i },
  { rule: 'ua:cloudflare-healthchecks', pattern: /Cloudflare-Healthchecks/i },
  { rule: 'ua:cloudflare-traffic-manager', pattern: /Cloudflare-Traffic-Manager/i },
  { rule: 'ua:consul', pattern: /Consul Health Check/i },
  { rule: 'ua:vercel-screenshot-bot', pattern: /vercel-screenshot-bot/i },
  { rule: 'ua:vercel-favicon-bot', pattern: /vercel-favicon-bot/i },
  { rule: 'ua:healthcheck', pattern: /HealthCheck\//i }, // generic "HealthCheck/1.0"
  // Self-hosted monitoring
  { rule: 'ua:blackbox-exporter', pattern: /Blackbox Exporter\//i }, // Prometheus
  { rule: 'ua:uptime-kuma', pattern: /Uptime-Kuma\//i },
  { rule: 'ua:zabbix', pattern: /Zabbix/i },
  { rule: 'ua:prtg', pattern: /PRTG/i }, // "PRTG Network Monitor", "PRTGCloudBot/1.0"
  { rule: 'ua:nagios', pattern: /check_http\//i },
  { rule: 'ua:nagios', pattern: /nagios-plugins/i },
  { rule: 'ua:logicmonitor', pattern: /LogicMonitor/i },
  { rule: 'ua:solarwinds', pattern: /solarwinds\//i },
  { rule: 'ua:server-density', pattern: /Server Density/i },
  { rule: 'ua:server-density', pattern: /ServerDensity/i },
  { rule: 'ua:rackspace-monitoring', pattern: /Rackspace Monitoring/i },
  // Uptime services
  { rule: 'ua:pingdom', pattern: /Pingdom/i }, // "Pingdom.com_bot_version_1.4_(…)", PingdomPageSpeed, PingdomTMS
  { rule: 'ua:pingbot', pattern: /^pingbot\//i }, // Pingdom's "pingbot/2.0" (not "…ShoppingBot/")
  { rule: 'ua:pingbot', pattern: /[ (;]pingbot\//i },
  { rule: 'ua:uptimerobot', pattern: /UptimeRobot/i },
  { rule: 'ua:statuscake', pattern: /StatusCake/i }, // "StatusCake_Uptime_Checker/1.0", "(StatusCake)"
  { rule: 'ua:better-uptime', pattern: /Better Stack/i },
  { rule: 'ua:better-uptime', pattern: /Better Uptime/i },
  { rule: 'ua:better-uptime', pattern: /BetterUptime/i },
  { rule: 'ua:site24x7', pattern: /Site24x7/i },
  { rule: 'ua:ohdear', pattern: /OhDear/i },
  { rule: 'ua:ohdear', pattern: /Oh Dear/i },
  { rule: 'ua:freshping', pattern: /FreshpingBot/i },
  { rule: 'ua:hetrixtools', pattern: /HetrixTools/i },
  { rule: 'ua:nodeping', pattern: /NodePing/i },
  { rule: 'ua:updown', pattern: /updown\.io/i },
  { rule: 'ua:montastic', pattern: /montastic/i },
  { rule: 'ua:nixstats', pattern: /NIXStatsbot/i },
  { rule: 'ua:uptrends', pattern: /uptrends/i },
  { rule: 'ua:uptimia', pattern: /Uptimia/i },
  { rule: 'ua:jetmon', pattern: /jetmon\//i }, // Jetpack (WordPress.com) uptime monitor
  { rule: 'ua:monitoring360', pattern: /monitoring360bot/i },
  { rule: 'ua:hosttracker', pattern: /HostTracker\//i },
  { rule: 'ua:wormly', pattern: /WormlyBot/i },
  { rule: 'ua:panopta', pattern: /Panopta/i },
  { rule: 'ua:monitis', pattern: /monitis/i },
  { rule: 'ua:monspark', pattern: /MonSpark\//i },
  { rule: 'ua:pulsetic', pattern: /pulsetic\.com/i },
  { rule: 'ua:onlineornot', pattern: /OnlineOrNot/i },
  { rule: 'ua:binarycanary', pattern: /BinaryCanary/i },
  { rule: 'ua:netumo', pattern: /Netumo/i },
  { rule: 'ua:hydrozen', pattern: /Hydrozen\.io/i },
  { rule: 'ua:vigil', pattern: /Vigil\/\d/i },
  { rule: 'ua:spectate', pattern: /Spectate\/\d/i },
  { rule: 'ua:pingadmin', pattern: /PingAdmin\.Ru/i },
  { rule: 'ua:pingping', pattern: /pingping\.io/i },
  { rule: 'ua:watchmouse', pattern: /WatchMouse/i },
  { rule: 'ua:websitepulse', pattern: /websitepulse/i },
  { rule: 'ua:wedos-online', pattern: /WEDOS OnLine/i },
  { rule: 'ua:netvigie', pattern: /NETVIGIE/i },
  { rule: 'ua:internetvista', pattern: /internetVista monitor/i },
  { rule: 'ua:gotsitemonitor', pattern: /GotSiteMonitor/i },
  { rule: 'ua:downnotifier', pattern: /downnotifier\.com/i },
  { rule: 'ua:easydns-monitoring', pattern: /easyDNS Monitoring/i },
  { rule: 'ua:irokez', pattern: /Irokez\.cz monitoring/i },
  { rule: 'ua:watchbot', pattern: /Watchbot monitoring/i },
  { rule: 'ua:freewebmonitoring', pattern: /FreeWebMonitoring/i },
  // Generic last: Uptimebot.org, uptime.com, getuptime.co, elmah.io, Honeybadger, EvoUptimeBot,
  // SiteUptime.com, WPMU DEV, uptimedoctor, Poduptime…
  { rule: 'ua:uptime', pattern: /uptime/i },
];

/**
 * Command-line clients and HTTP libraries sending their default user agent. Anchored at the start
 * (where these libraries put their token) so a crawler that merely mentions its HTTP library
 * ("MyCrawler/1.0 libwww-perl/6.0") is left to `isbot`; PowerShell is the exception, its token
 * follows a `Mozilla/5.0 (…)` prefix.
 */
export const CLI_USER_AGENTS: readonly UserAgentSignature[] = [
  // Command-line tools
  { rule: 'ua:curl', pattern: /^curl(?:\/|$)/i },
  { rule: 'ua:wget', pattern: /^Wget\//i },
  { rule: 'ua:httpie', pattern: /^HTTPie\//i },
  { rule: 'ua:postman', pattern: /^PostmanRuntime\//i },
  { rule: 'ua:insomnia', pattern: /^insomnia\//i },
  { rule: 'ua:lwp', pattern: /^lwp-(?:request|trivial)\//i },
  { rule: 'ua:powershell', pattern: /PowerShell\/\d/i }, // WindowsPowerShell/5.1, PowerShell/7.4
  // Python
  { rule: 'ua:python-requests', pattern: /^python-requests\//i },
  { rule: 'ua:python-httpx', pattern: /^python-httpx\//i },
  { rule: 'ua:aiohttp', pattern: /^(?:Python\/[\d.]+ )?aiohttp\//i }, // "Python/3.12 aiohttp/3.9.5"
  { rule: 'ua:python-urllib', pattern: /^Python-urllib\//i },
  { rule: 'ua:pycurl', pattern: /^PycURL\//i },
  { rule: 'ua:python', pattern: /^Python\/\d/i },
  // JavaScript runtimes and libraries
  { rule: 'ua:node', pattern: /^node$/i }, // Node's built-in fetch sends exactly "node"
  { rule: 'ua:undici', pattern: /^undici\b/i },
  { rule: 'ua:node-fetch', pattern: /^node-fetch\b/i },
  { rule: 'ua:axios', pattern: /^axios\//i },
  { rule: 'ua:got', pattern: /^got(?: \(|\/|$)/i }, // "got (https://github.com/sindresorhus/got)"
  { rule: 'ua:deno', pattern: /^Deno\//i },
  { rule: 'ua:bun', pattern: /^Bun\//i },
  // Go, Rust, Dart
  { rule: 'ua:go-http-client', pattern: /^Go-http-client\//i },
  { rule: 'ua:reqwest', pattern: /^reqwest\//i },
  { rule: 'ua:dart', pattern: /^Dart\//i },
  // JVM
  { rule: 'ua:okhttp', pattern: /^okhttp\//i },
  { rule: 'ua:apache-httpclient', pattern: /^Apache-HttpClient\//i },
  { rule: 'ua:async-http-client', pattern: /^AHC\//i },
  { rule: 'ua:jersey', pattern: /^Jersey\//i },
  { rule: 'ua:java', pattern: /^Java\//i },
  // Perl, Ruby, PHP
  { rule: 'ua:libwww-perl', pattern: /^libwww-perl\//i },
  { rule: 'ua:mechanize', pattern: /^(?:WWW-)?Mechanize\//i },
  { rule: 'ua:ruby', pattern: /^Ruby$/i }, // Net::HTTP sends exactly "Ruby"
  { rule: 'ua:faraday', pattern: /^Faraday v\d/i },
  { rule: 'ua:guzzle', pattern: /^GuzzleHttp\//i },
  { rule: 'ua:php-curl-class', pattern: /^PHP-Curl-Class\//i },
];

/**
 * Free-form parts of a browser user agent (Android device model, locale) may not contain these:
 * a bot or tool naming itself there must go through the full rules.
 */
const NO_BOT_WORDS = String.raw`(?![^;)]*(?:bot|crawl|spider|scan|scrap|check|catch|monitor|probe|synthetic|test|agent|http|www|\.com|google|node|proxy|server|headless|preview|fetch|archive|search|24x7))`;
const ANDROID_MODEL = String.raw`${NO_BOT_WORDS}[a-z0-9][\w .-]{0,40}?(?: Build\/[\w.-]+)?`;
const PLATFORMS = [
  String.raw`Windows NT \d+\.\d(?:; (?:Win64|WOW64|x64|rv:[\d.]+))*`,
  String.raw`Macintosh; Intel Mac OS X \d+(?:[._]\d+)*(?:; rv:[\d.]+)?`,
  String.raw`X11; (?:Ubuntu; |Fedora; )?Linux (?:x86_64|i686|aarch64|armv7l)(?:; rv:[\d.]+)?`,
  String.raw`X11; CrOS \w+ [\d.]+`,
  String.raw`Linux; (?:U; )?Android \d+(?:\.\d+)*(?:; ${NO_BOT_WORDS}[a-z]{2}[-_][a-z]{2})?(?:; ${ANDROID_MODEL})?(?:; wv)?`,
  String.raw`Android \d+(?:\.\d+)*; (?:Mobile|Tablet); rv:[\d.]+`,
  String.raw`(?:iPhone|iPad|iPod(?: touch)?); (?:U; )?CPU (?:iPhone )?OS \d+(?:_\d+)* like Mac OS X`,
];
const BROWSER_TOKENS = String.raw`(?: (?:(?:Version|Chrome|CriOS|FxiOS|EdgiOS|EdgA|Edg|OPR|OPT|SamsungBrowser|YaBrowser|GSA|Ddg|Vivaldi|Safari)\/[\d.]+|Mobile(?:\/\d+[a-z]\d+)?|Brave))*`;

/**
 * A plain browser user agent built only from well-known browser tokens, e.g.
 * `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36`.
 * A fast path, not a rule. Outside its platform comment (group 1, with the parentheses) such a UA
 * holds only browser vocabulary, so the classifier searches just that comment for monitor and CLI
 * signatures and answers `browser` without running `isbot`. So it must
 * never match a user agent `isbot` flags (unless a signature in the comment makes it a monitor
 * first); `test/classifier.test.ts` checks that, and that the shortcut gives the same answer as
 * the rules evaluated one by one, on every labelled user agent. Anything unusual (an app
 * token, a trailing comment, an unknown browser) simply takes the full path.
 */
export const PLAIN_BROWSER_USER_AGENT = new RegExp(
  String.raw`^Mozilla\/5\.0 (\((?:${PLATFORMS.join('|')})\)) (?:AppleWebKit\/\d+(?:\.\d+)*\+? \(KHTML, like Gecko\)${BROWSER_TOKENS}|Gecko\/[\d.]+ Firefox\/[\d.]+)$`,
  'i',
);
