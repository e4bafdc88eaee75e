export const DEMO_USAGE = `Usage: npm run demo -- [options]

  --duration <time>       traffic duration: 150, 90s, 2m (default 150 s, at most 30 min)
  --users <n>             real users browsing besides the one whose refresh token is revoked (default 8)
  --scenario <name>       healthy (default) or idp-outage (the IdP answers 503 past halfway: real users' refreshes fail, transiently)
  --instances <n>         app instances behind a round-robin load balancer, 1 to 6 (default 1)
  --prometheus            live alerting: a real Prometheus scrapes every instance's Prometheus exporter and
                          evaluates the shipped rules; a real Alertmanager pages or files a ticket
                          (needs Debian's prometheus and prometheus-alertmanager packages)
  --otlp-endpoint <url>   also forward all OTLP to a Collector, e.g. http://localhost:4318
  --json <file>           write the summary and verdict as JSON
  --help                  this text`;

/** Each instance is a `next start` process; more than a few would starve a small machine. */
export const MAX_INSTANCES = 6;

export class DemoArgsError extends Error {
  override readonly name = 'DemoArgsError';
}

export interface DemoArgs {
  durationSeconds: number;
  users: number;
  scenario: 'healthy' | 'idp-outage';
  /** `next start` processes behind a round-robin load balancer. */
  instances: number;
  /** Live alerting through a real Prometheus and Alertmanager. */
  prometheus: boolean;
  otlpEndpoint?: string;
  jsonPath?: string;
  help: boolean;
}

export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|min)?$/.exec(text.trim());
  if (!match) throw new DemoArgsError(`--duration: "${text}" is not a duration such as 150, 90s or 2m`);
  const seconds = Number(match[1]) * (match[2] === 'm' || match[2] === 'min' ? 60 : 1);
  if (seconds < 20 || seconds > 1800) throw new DemoArgsError(`--duration must be between 20 s and 30 min, got ${seconds} s`);
  return seconds;
}

export function parseDemoArgs(argv: readonly string[]): DemoArgs {
  const args: DemoArgs = { durationSeconds: 150, users: 8, scenario: 'healthy', instances: 1, prometheus: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new DemoArgsError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--duration':
        args.durationSeconds = parseDuration(value());
        break;
      case '--users': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1 || n > 20) throw new DemoArgsError('--users must be an integer from 1 to 20');
        args.users = n;
        break;
      }
      case '--instances': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1 || n > MAX_INSTANCES) throw new DemoArgsError(`--instances must be an integer from 1 to ${MAX_INSTANCES}`);
        args.instances = n;
        break;
      }
      case '--scenario': {
        const v = value();
        if (v !== 'healthy' && v !== 'idp-outage') throw new DemoArgsError(`--scenario must be healthy or idp-outage, got "${v}"`);
        args.scenario = v;
        break;
      }
      case '--otlp-endpoint': {
        const v = value();
        let url: URL;
        try {
          url = new URL(v);
        } catch {
          throw new DemoArgsError(`--otlp-endpoint: "${v}" is not a URL (expected e.g. http://localhost:4318)`);
        }
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DemoArgsError('--otlp-endpoint must be an http(s) URL');
        args.otlpEndpoint = v.replace(/\/+$/, '').replace(/\/v1\/(traces|metrics|logs)$/, '');
        break;
      }
      case '--prometheus':
        if (inline !== undefined) throw new DemoArgsError('--prometheus takes no value');
        args.prometheus = true;
        break;
      case '--json':
        args.jsonPath = value();
        break;
      case '--help':
      case '-h':
        args.help = true;
        break;
      default:
        throw new DemoArgsError(`unknown option ${flag}`);
    }
  }
  return args;
}
