/** Load-run options: presets, the `--stages` grammar, thresholds, and CLI flag parsing. */

export type ScenarioName = "home" | "shop" | "path" | "buy";

/** One k6 `ramping-vus` stage: ramp linearly to `target` VUs over `durationMs`. */
export interface Stage {
  durationMs: number;
  target: number;
}

export type Operator = "<" | "<=" | ">" | ">=";

/** `p95<500`, `failed<0.01`, `search:p99<800` … (`scope` is a step name or "all"). */
export interface Threshold {
  source: string;
  scope: string;
  stat: string;
  op: Operator;
  value: number;
}

export interface LoadOptions {
  url: string;
  preset: string;
  stages: Stage[];
  thinkMs: [number, number];
  scenario: ScenarioName;
  /** What the `path` scenario requests, e.g. "/p/blue-mug". */
  path: string;
  loginShare: number;
  /** Share of VUs that add to cart and check out (buy scenario). */
  buyShare: number;
  loginEmail: string;
  loginPassword: string;
  /** 0 runs the VUs inside the calling process (tests); otherwise subprocesses. */
  workers: number;
  thresholds: Threshold[];
  /** How long VUs told to stop may take to finish their iteration (k6 gracefulRampDown). */
  rampDownGraceMs: number;
  /** How long iterations still running at the end may take (k6 gracefulStop). */
  stopGraceMs: number;
  requestTimeoutMs: number;
  reportPath?: string;
  jsonPath?: string;
  quiet: boolean;
}

interface Preset {
  stages: string;
  think: string;
  scenario: ScenarioName;
  loginShare: number;
  buyShare?: number;
  thresholds: string[];
  description: string;
}

const PUBLISHED_THRESHOLDS = ["p95<500", "failed<0.01"];

export const PRESETS: Record<string, Preset> = {
  "seed-1000": {
    description: "the published k6 run: home page only, 30s→100, 1m→1000, 30s→0 VUs, think 1–4 s",
    stages: "30s:100,1m:1000,30s:0",
    think: "1-4",
    scenario: "home",
    loginShare: 0,
    thresholds: PUBLISHED_THRESHOLDS,
  },
  "shop-1000": {
    description: "same stages, browsing home → category → product → search, 10% log in",
    stages: "30s:100,1m:1000,30s:0",
    think: "1-4",
    scenario: "shop",
    loginShare: 0.1,
    thresholds: PUBLISHED_THRESHOLDS,
  },
  "10k": {
    description: "shop scenario ramped to 10,000 VUs across several generator processes",
    stages: "1m:2000,2m:10000,1m:10000,30s:0",
    think: "1-4",
    scenario: "shop",
    loginShare: 0.1,
    thresholds: PUBLISHED_THRESHOLDS,
  },
  "buy-1000": {
    description: "shop-1000's stages and browsing, and 20% of shoppers add to cart and check out",
    stages: "30s:100,1m:1000,30s:0",
    think: "1-4",
    scenario: "buy",
    loginShare: 0.1,
    buyShare: 0.2,
    thresholds: [...PUBLISHED_THRESHOLDS, "checkout:p95<500"],
  },
  "buy-smoke": {
    description: "a few seconds with 6 VUs, half of them buying (tests)",
    stages: "1s:6,3s:6",
    think: "0.1-0.3",
    scenario: "buy",
    loginShare: 0,
    buyShare: 0.5,
    thresholds: PUBLISHED_THRESHOLDS,
  },
  smoke: {
    description: "a few seconds with 5 VUs (CI)",
    stages: "1s:5,2s:5",
    think: "0.1-0.3",
    scenario: "shop",
    loginShare: 0.2,
    thresholds: PUBLISHED_THRESHOLDS,
  },
};

/** Parses `"90s"`, `"1m"`, `"1m30s"`, `"500ms"`, or a bare number of seconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = trimmed;
  while (rest.length > 0) {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (!match) throw new RangeError(`Invalid duration "${text}"`);
    total += Number(match[1]) * units[match[2]];
    rest = rest.slice(match[0].length);
  }
  return total;
}

/** Parses `"30s:100,1m:1000,30s:0"` into stages. */
export function parseStages(text: string): Stage[] {
  const stages = text.split(",").filter((s) => s.trim() !== "").map((part) => {
    const [duration, target, extra] = part.split(":");
    const vus = Number(target);
    if (extra !== undefined || !Number.isInteger(vus) || vus < 0) {
      throw new RangeError(`Invalid stage "${part}": expected "<duration>:<vus>"`);
    }
    return { durationMs: parseDuration(duration), target: vus };
  });
  if (stages.length === 0) throw new RangeError(`Invalid stages "${text}": none given`);
  return stages;
}

/** Parses `"1-4"` (seconds) into a [min, max] think time in ms. */
export function parseThink(text: string): [number, number] {
  const [lo, hi = lo] = text.split("-").map((s) => Number(s) * 1000);
  if (!(lo >= 0) || !(hi >= lo)) throw new RangeError(`Invalid think time "${text}"`);
  return [lo, hi];
}

const STAT_ALIASES: Record<string, string> = {
  "p(50)": "p50",
  "p(90)": "p90",
  "p(95)": "p95",
  "p(99)": "p99",
  med: "p50",
  rate: "failed",
};

/** Parses `"p95<500"`, `"p(99)<=800"`, `"failed<0.01"`, `"search:p95<800"`, `"rps>100"`. */
export function parseThreshold(text: string): Threshold {
  const match =
    /^(?:([\w.-]+):)?\s*([a-z]+(?:\(\d+(?:\.\d+)?\))?|p\d+(?:\.\d+)?)\s*(<=|>=|<|>)\s*(-?[\d.]+)$/
      .exec(text.trim());
  if (!match) throw new RangeError(`Invalid threshold "${text}": expected e.g. "p95<500"`);
  const rawScope = match[1] ?? "all";
  const scope = rawScope === "http_req_duration" || rawScope === "http_req_failed"
    ? "all"
    : rawScope;
  const rawStat = match[2];
  const stat = STAT_ALIASES[rawStat] ?? rawStat.replace(/^p\((.+)\)$/, "p$1");
  const known = /^p\d+(\.\d+)?$/.test(stat) ||
    ["avg", "min", "max", "failed", "reqs", "rps"].includes(stat);
  if (!known) throw new RangeError(`Invalid threshold "${text}": unknown statistic "${rawStat}"`);
  return { source: text, scope, stat, op: match[3] as Operator, value: Number(match[4]) };
}

/** The target VU count at `elapsedMs`, interpolating linearly inside a stage like k6. */
export function targetAt(stages: Stage[], elapsedMs: number): number {
  let from = 0;
  let start = 0;
  for (const stage of stages) {
    const end = start + stage.durationMs;
    if (elapsedMs < end) {
      const f = stage.durationMs === 0 ? 1 : (elapsedMs - start) / stage.durationMs;
      return Math.round(from + (stage.target - from) * f);
    }
    from = stage.target;
    start = end;
  }
  return from;
}

export function totalDuration(stages: Stage[]): number {
  return stages.reduce((ms, s) => ms + s.durationMs, 0);
}

export function maxTarget(stages: Stage[]): number {
  return stages.reduce((max, s) => Math.max(max, s.target), 0);
}

/** One generator process per 2,500 VUs, no more than the cores available. */
export function autoWorkers(stages: Stage[]): number {
  const wanted = Math.ceil(maxTarget(stages) / 2500);
  return Math.max(1, Math.min(wanted, navigator.hardwareConcurrency || 1));
}

export const USAGE = `Usage: deno task load [flags]

  --url URL               target (default http://localhost:8000)
  --preset NAME           ${Object.keys(PRESETS).join(" | ")} (default smoke)
  --stages LIST           e.g. "30s:100,1m:1000,30s:0" (overrides the preset)
  --think MIN-MAX         think time in seconds between iterations, e.g. 1-4
  --scenario NAME         home | shop | buy | path (one GET of --path per iteration)
  --path PATH             the page the path scenario requests (default /)
  --login-share F         share of VUs that log in each iteration (shop), e.g. 0.1
  --buy-share F           share of VUs that add to cart and check out as guests (buy), e.g. 0.2
  --login-email E         --login-password P   credentials for the login step
  --workers N             generator processes (default: 1 per 2,500 VUs, max cores)
  --threshold EXPR        repeatable; replaces the preset's: "p95<500" "failed<0.01"
                          "p(99)<1000" "avg<200" "rps>100" "search:p95<800"
  --grace DURATION        graceful ramp-down / stop (default 30s, like k6)
  --timeout DURATION      per-request timeout (default 60s, like k6)
  --report PATH           HTML report (default .tmp/load/report-<preset>.html)
  --json PATH             machine-readable summary + time series
  --quiet                 no live progress line
`;

/** Turns CLI arguments into validated options; throws RangeError with a one-line message. */
export function parseArgs(args: string[]): LoadOptions {
  const values = new Map<string, string[]>();
  const flags = new Set(["quiet", "help"]);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) throw new RangeError(`Unexpected argument "${arg}"`);
    let [name, value] = arg.slice(2).split(/=(.*)/s, 2);
    if (flags.has(name)) value = "true";
    else if (value === undefined) {
      value = args[++i];
      if (value === undefined) throw new RangeError(`Missing value for "--${name}"`);
    }
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  const known = [
    "url",
    "preset",
    "stages",
    "think",
    "scenario",
    "path",
    "login-share",
    "buy-share",
    "login-email",
    "login-password",
    "workers",
    "threshold",
    "grace",
    "timeout",
    "report",
    "json",
    "quiet",
    "help",
  ];
  for (const name of values.keys()) {
    if (!known.includes(name)) throw new RangeError(`Unknown flag "--${name}"`);
  }
  const one = (name: string) => values.get(name)?.at(-1);

  const presetName = one("preset") ?? "smoke";
  const preset = PRESETS[presetName];
  if (!preset) {
    throw new RangeError(
      `Unknown preset "${presetName}": choose one of ${Object.keys(PRESETS).join(", ")}`,
    );
  }
  const scenario = one("scenario") ?? preset.scenario;
  if (scenario !== "home" && scenario !== "shop" && scenario !== "path" && scenario !== "buy") {
    throw new RangeError(`Unknown scenario "${scenario}": choose home, shop, buy or path`);
  }
  const path = one("path") ?? "/";
  if (!path.startsWith("/")) throw new RangeError(`Invalid path "${path}": it must start with /`);
  const loginShare = Number(one("login-share") ?? preset.loginShare);
  if (!(loginShare >= 0 && loginShare <= 1)) {
    throw new RangeError(`Invalid login share "${one("login-share")}": expected 0..1`);
  }
  const buyShare = Number(one("buy-share") ?? preset.buyShare ?? 0);
  if (!(buyShare >= 0 && buyShare <= 1)) {
    throw new RangeError(`Invalid buy share "${one("buy-share")}": expected 0..1`);
  }
  const stages = parseStages(one("stages") ?? preset.stages);
  const workersText = one("workers");
  const workers = workersText === undefined ? autoWorkers(stages) : Number(workersText);
  if (!Number.isInteger(workers) || workers < 0) {
    throw new RangeError(`Invalid worker count "${workersText}"`);
  }
  const url = one("url") ?? "http://localhost:8000";
  try {
    new URL(url);
  } catch {
    throw new RangeError(`Invalid URL "${url}"`);
  }
  const grace = parseDuration(one("grace") ?? "30s");
  return {
    url: url.replace(/\/+$/, ""),
    preset: one("stages") ? "custom" : presetName,
    stages,
    thinkMs: parseThink(one("think") ?? preset.think),
    scenario,
    path,
    loginShare,
    buyShare,
    loginEmail: one("login-email") ?? "loadtest@example.com",
    loginPassword: one("login-password") ?? "loadtest-password",
    workers,
    thresholds: (values.get("threshold") ?? preset.thresholds).map(parseThreshold),
    rampDownGraceMs: grace,
    stopGraceMs: grace,
    requestTimeoutMs: parseDuration(one("timeout") ?? "60s"),
    reportPath: one("report"),
    jsonPath: one("json"),
    quiet: values.has("quiet"),
  };
}

/** Options for programmatic runs: a preset plus overrides. */
export function presetOptions(name: string, overrides: Partial<LoadOptions> = {}): LoadOptions {
  return { ...parseArgs(["--preset", name]), ...overrides };
}
