#!/usr/bin/env node
import { createServer } from "./app.js";
import { ConfigError, loadConfig, usage } from "./config/load-config.js";
import { ModelLoadError } from "./model/load-served-model.js";

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(usage);
    return;
  }
  const config = loadConfig(argv);
  const server = await createServer(config);
  const url = await server.listen();
  const model = server.context.model;
  console.log(`kvpack server: ${url}  (model ${model.id}, ${model.format}, context ${model.contextLength}; try ${url}/v1/models)`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      console.error(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    console.log(`${signal}: finishing streams and flushing KV pages…`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof ModelLoadError) {
    console.error(`kvpack server: ${error.message}`);
    process.exit(2);
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") {
    console.error(`kvpack server: cannot listen (${code}): ${(error as Error).message}; choose another --host/--port`);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
