import { readFileSync } from "node:fs";
import { z } from "zod";
import { serverConfigSchema, type ServerConfig } from "./server-config.js";

/** Thrown for a bad flag, environment variable or config file; main.ts prints it and exits with 2. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

type MutableConfig = Record<string, unknown> & {
  model?: Record<string, unknown>;
  limits?: Record<string, unknown>;
  kv?: Record<string, unknown> & { defaults?: Record<string, unknown> };
};

export const usage = `Usage: node dist/main.js [options]

  --config <file>            JSON config file (flags and environment override it)
  --host <host>              bind address (default 127.0.0.1; env KVPACK_HOST)
  --port <port>              port, 0 for any free port (default 8080; env KVPACK_PORT)
  --model <file|folder>      llama2.c .bin, .gguf, .safetensors, .onnx, or a Hugging Face model folder
                             (config.json + tokenizer.json + safetensors or onnx/) (default: embedded stories260K; env KVPACK_MODEL)
  --tokenizer <file>         llama2.c tokenizer.bin for the model (env KVPACK_TOKENIZER)
  --model-format <format>    auto | llama2c | gguf | safetensors | onnx (for a folder: which weights, safetensors or onnx)
  --model-id <name>          model name reported by /v1/models
  --context-length <tokens>  context length override (ONNX models declare none; default 2048 there)
  --api-key <id:key>         accept this bearer token (repeatable; env KVPACK_API_KEYS="id:key,id2:key2")
  --codec <kind>             default KV codec: fibquant turboquant kivi quarot int8 fp16 fp32
  --key-bits <bits>          default bits per key coordinate
  --value-bits <bits>        default bits per value coordinate
  --kv-budget-mb <MiB>       global resident KV memory budget (env KVPACK_KV_BUDGET_MB)
  --prefix-memory-share <f>  share of the KV budget in-memory prefix pages may use (0–1, default 0.25)
  --disk-dir <dir>           disk tier for offloaded sessions and prefix pages (env KVPACK_DISK_DIR)
  --no-disk                  no disk tier
  --redis-url <url>          Redis tier shared between server processes (env KVPACK_REDIS_URL)
  --max-concurrent <n>       generations decoded at once
  --queue-size <n>           requests allowed to wait; beyond it: 429
  --cors <origin>            allow this browser origin (repeatable; CORS is off by default)
  --metrics-key <key>        require 'Authorization: Bearer <key>' on GET /metrics (env KVPACK_METRICS_KEY)
  --log-level <level>        fatal error warn info debug trace silent
  --help                     this text`;

function parseNumber(flag: string, text: string | undefined): number {
  const value = Number(text);
  if (text === undefined || text.trim() === "" || !Number.isFinite(value)) {
    throw new ConfigError(`${flag} needs a number, got ${JSON.stringify(text)}`);
  }
  return value;
}

function parseApiKey(text: string, source: string): { id: string; key: string } {
  const colon = text.indexOf(":");
  if (colon <= 0 || colon === text.length - 1) throw new ConfigError(`${source}: API keys are written id:key, got "${text.slice(0, 4)}…"`);
  return { id: text.slice(0, colon), key: text.slice(colon + 1) };
}

function section(config: MutableConfig, name: "model" | "limits" | "kv"): Record<string, unknown> {
  const current = config[name];
  if (current === undefined) config[name] = {};
  else if (typeof current !== "object" || current === null) throw new ConfigError(`config field "${name}" must be an object`);
  return config[name] as Record<string, unknown>;
}

function kvDefaults(config: MutableConfig): Record<string, unknown> {
  const kv = section(config, "kv");
  if (kv.defaults === undefined) kv.defaults = {};
  return kv.defaults as Record<string, unknown>;
}

function applyEnvironment(config: MutableConfig, environment: NodeJS.ProcessEnv): void {
  const read = (name: string): string | undefined => {
    const value = environment[name];
    return value === undefined || value === "" ? undefined : value;
  };
  if (read("KVPACK_HOST")) config.host = read("KVPACK_HOST");
  if (read("KVPACK_PORT")) config.port = parseNumber("KVPACK_PORT", read("KVPACK_PORT"));
  if (read("KVPACK_MODEL")) section(config, "model").path = read("KVPACK_MODEL");
  if (read("KVPACK_TOKENIZER")) section(config, "model").tokenizerPath = read("KVPACK_TOKENIZER");
  if (read("KVPACK_API_KEYS")) {
    config.apiKeys = read("KVPACK_API_KEYS")!
      .split(",")
      .map((part) => part.trim())
      .filter((part) => part.length > 0)
      .map((part) => parseApiKey(part, "KVPACK_API_KEYS"));
  }
  if (read("KVPACK_KV_BUDGET_MB")) {
    section(config, "kv").memoryBudgetBytes = Math.round(parseNumber("KVPACK_KV_BUDGET_MB", read("KVPACK_KV_BUDGET_MB")) * 1024 * 1024);
  }
  if (read("KVPACK_DISK_DIR")) section(config, "kv").diskDirectory = read("KVPACK_DISK_DIR");
  if (read("KVPACK_REDIS_URL")) section(config, "kv").redisUrl = read("KVPACK_REDIS_URL");
  if (read("KVPACK_LOG_LEVEL")) config.logLevel = read("KVPACK_LOG_LEVEL");
  if (read("KVPACK_METRICS_KEY")) config.metricsKey = read("KVPACK_METRICS_KEY");
}

/** Reads `--flag value` / `--flag=value` pairs; unknown flags are errors so typos do not pass silently. */
function applyFlags(config: MutableConfig, argv: readonly string[]): void {
  const apiKeys: { id: string; key: string }[] = [];
  const corsOrigins: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    let flag = argv[index];
    let inlineValue: string | undefined;
    const equals = flag.indexOf("=");
    if (flag.startsWith("--") && equals > 0) {
      inlineValue = flag.slice(equals + 1);
      flag = flag.slice(0, equals);
    }
    const value = (): string => {
      if (inlineValue !== undefined) return inlineValue;
      const next = argv[index + 1];
      if (next === undefined || next.startsWith("--")) throw new ConfigError(`${flag} needs a value`);
      index++;
      return next;
    };
    switch (flag) {
      case "--config":
        value();
        break; // read before the other flags, in loadConfig
      case "--host":
        config.host = value();
        break;
      case "--port":
        config.port = parseNumber(flag, value());
        break;
      case "--model":
        section(config, "model").path = value();
        break;
      case "--tokenizer":
        section(config, "model").tokenizerPath = value();
        break;
      case "--model-format":
        section(config, "model").format = value();
        break;
      case "--model-id":
        section(config, "model").id = value();
        break;
      case "--context-length":
        section(config, "model").contextLength = parseNumber(flag, value());
        break;
      case "--api-key":
        apiKeys.push(parseApiKey(value(), flag));
        break;
      case "--codec":
        kvDefaults(config).codec = value();
        break;
      case "--key-bits":
        kvDefaults(config).keyBits = parseNumber(flag, value());
        break;
      case "--value-bits":
        kvDefaults(config).valueBits = parseNumber(flag, value());
        break;
      case "--kv-budget-mb":
        section(config, "kv").memoryBudgetBytes = Math.round(parseNumber(flag, value()) * 1024 * 1024);
        break;
      case "--prefix-memory-share":
        section(config, "kv").prefixMemoryShare = parseNumber(flag, value());
        break;
      case "--disk-dir":
        section(config, "kv").diskDirectory = value();
        break;
      case "--no-disk":
        section(config, "kv").diskEnabled = false;
        break;
      case "--redis-url":
        section(config, "kv").redisUrl = value();
        break;
      case "--max-concurrent":
        section(config, "limits").maxConcurrent = parseNumber(flag, value());
        break;
      case "--queue-size":
        section(config, "limits").queueSize = parseNumber(flag, value());
        break;
      case "--cors":
        corsOrigins.push(value());
        break;
      case "--log-level":
        config.logLevel = value();
        break;
      case "--metrics-key":
        config.metricsKey = value();
        break;
      default:
        throw new ConfigError(`unknown option ${flag}\n\n${usage}`);
    }
  }
  if (apiKeys.length > 0) config.apiKeys = apiKeys;
  if (corsOrigins.length > 0) config.corsOrigins = corsOrigins;
}

function formatZodError(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`).join("; ");
}

/** Validates a config object (defaults filled in); throws ConfigError listing every bad field. */
export function parseServerConfig(input: unknown): ServerConfig {
  const result = serverConfigSchema.safeParse(input ?? {});
  if (!result.success) throw new ConfigError(`invalid server config: ${formatZodError(result.error)}`);
  const ids = new Set<string>();
  for (const apiKey of result.data.apiKeys) {
    if (ids.has(apiKey.id)) throw new ConfigError(`invalid server config: API key id "${apiKey.id}" is used twice`);
    ids.add(apiKey.id);
  }
  return result.data;
}

/** Precedence: flags > environment > config file > defaults. */
export function loadConfig(argv: readonly string[], environment: NodeJS.ProcessEnv = process.env): ServerConfig {
  let config: MutableConfig = {};
  const configIndex = argv.findIndex((argument) => argument === "--config" || argument.startsWith("--config="));
  const configPath =
    configIndex < 0 ? environment.KVPACK_CONFIG : argv[configIndex].includes("=") ? argv[configIndex].split("=").slice(1).join("=") : argv[configIndex + 1];
  if (configPath) {
    let text: string;
    try {
      text = readFileSync(configPath, "utf8");
    } catch (error) {
      throw new ConfigError(`cannot read config file ${configPath}: ${(error as Error).message}`);
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("the top level must be an object");
      config = parsed as MutableConfig;
    } catch (error) {
      throw new ConfigError(`config file ${configPath} is not valid JSON: ${(error as Error).message}`);
    }
  }
  applyEnvironment(config, environment);
  applyFlags(config, argv);
  return parseServerConfig(config);
}
