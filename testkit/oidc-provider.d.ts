// Minimal ambient typing for `oidc-provider` (it ships no types and @types/oidc-provider is not installed).
// Only what testkit/idp.ts touches is described; everything else is `any` on purpose.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface InteractionDetails {
    uid: string;
    prompt: { name: string; reasons: string[]; details: Record<string, any> };
    params: Record<string, any>;
    session?: { accountId?: string; uid?: string; cookie?: string };
    lastSubmission?: Record<string, any>;
    grantId?: string;
    returnTo: string;
  }

  export interface GrantInstance {
    jti: string;
    accountId: string;
    clientId: string;
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(indicator: string, scope: string): void;
    getOIDCScope(): string;
    save(ttl?: number): Promise<string>;
    destroy(): Promise<void>;
  }

  export interface TokenInstance {
    jti: string;
    accountId?: string;
    clientId?: string;
    grantId?: string;
    consumed?: number;
    destroy(): Promise<void>;
  }

  export interface TokenModel<T = TokenInstance> {
    find(value: string, options?: { ignoreExpiration?: boolean }): Promise<T | undefined>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export class Provider {
    constructor(issuer: string, configuration?: Record<string, any>);
    issuer: string;
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    use(middleware: (ctx: any, next: () => Promise<void>) => Promise<void> | void): this;
    on(event: string, listener: (...args: any[]) => void): this;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(req: IncomingMessage, res: ServerResponse, result: Record<string, any>, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
    interactionResult(req: IncomingMessage, res: ServerResponse, result: Record<string, any>, options?: { mergeWithLastSubmission?: boolean }): Promise<string>;
    Grant: { new (props: { accountId: string; clientId: string }): GrantInstance; find(id: string): Promise<GrantInstance | undefined> };
    Client: { find(id: string): Promise<any>; validate(metadata: Record<string, any>): Promise<void> };
    AccessToken: TokenModel;
    RefreshToken: TokenModel;
    AuthorizationCode: TokenModel;
    Session: any;
    app: any;
    silent?: boolean;
    [key: string]: any;
  }

  export const errors: Record<string, any>;
  export const interactionPolicy: any;
  export default Provider;
}
