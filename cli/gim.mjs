#!/usr/bin/env node
// gim: the command-line client of gim on the edge. Signs in, sends, listens, syncs, chats and
// joins rooms over the WebSocket (or gim's TCP framing through the relay with --tcp).
// Runs from the repository with no build: the SDK comes prebuilt in web/gim-sdk.js.
import { parseArgs } from "node:util";
import { COMMANDS, UsageError } from "./commands.mjs";
import { ConfigFile, configPath } from "./config.mjs";
import { createPrinter } from "./format.mjs";
import { ErrorCode, GimError } from "../web/gim-sdk.js";

const USAGE = `usage: gim <command> [options]

account
  signin <phone> [--code C]      sign in (the local server's code is 0000) and save the credentials
  signout                        forget the saved credentials of this profile
  whoami                         the signed-in user
  set-name <nickname>            change your nickname
  search <text>                  find users by phone number or nickname

messages
  send <userId> <text…>          send a text (--group: to a group; --id: your idempotency key)
  listen                         print messages as they arrive, catching up first; Ctrl+C stops
  sync                           print what arrived since the last run, then exit
  chat <userId> | --group <id>   print a conversation live and send each line you type
  room <roomId> [--replay]       join a room: print its messages and send each line you type

friends and groups
  friends | requests             your friends | friend requests waiting for you
  add-friend <userId> [text…]    ask to be friends
  accept <userId> | reject <userId>
  groups                         your groups
  create-group <name> [userId…]  create a group with these members

options
  --server URL      the server (default: the saved one, $GIM_SERVER, or http://127.0.0.1:8787)
  --tcp HOST:PORT   connect through the TCP relay instead of the WebSocket ($GIM_RELAY)
  --profile NAME    which saved credentials to use (default "default", $GIM_PROFILE)
  --config FILE     the credentials file ($GIM_CONFIG, default ~/.config/gim/credentials.json)
  --json            one JSON object per line on stdout, for scripts
  --quiet           no progress or connection state on stderr

exit status: 0 done, 1 failed, 2 usage error, 3 sign-in no longer valid (sign in again),
4 another connection of this device took over (listen)
`;

const OPTIONS = {
  server: { type: "string" },
  tcp: { type: "string" },
  profile: { type: "string" },
  config: { type: "string" },
  code: { type: "string" },
  group: { type: "string" },
  id: { type: "string" },
  replay: { type: "boolean" },
  json: { type: "boolean" },
  quiet: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

/** What a person should read for an error, and the exit code. */
function explain(err, server) {
  if (err instanceof GimError) {
    if (err.code === ErrorCode.UNAUTHORIZED) {
      return "your sign-in is no longer valid: run `gim signin <phone>` again";
    }
    if (err.code === 14) {
      return `cannot reach ${server}: is the server running (npm start)?`;
    }
    return `${err.message} (code ${err.code})`;
  }
  return err instanceof Error ? err.message : String(err);
}

async function main(argv) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (err) {
    process.stderr.write(`gim: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [name, ...args] = positionals;
  if (values.help || !name || name === "help") {
    process.stdout.write(USAGE);
    return name || values.help ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`gim: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  const file = new ConfigFile(configPath(values.config));
  const profileName = values.profile || process.env.GIM_PROFILE || "default";
  const saved = file.profile(profileName);
  const server = (values.server || process.env.GIM_SERVER || saved?.server || "http://127.0.0.1:8787").replace(/\/+$/, "");
  const ctx = {
    args,
    values,
    file,
    profileName,
    saved,
    server,
    relay: values.tcp || process.env.GIM_RELAY || "",
    print: createPrinter({ json: values.json, quiet: values.quiet }),
  };
  try {
    return (await command(ctx)) ?? 0;
  } catch (err) {
    process.stderr.write(`gim: ${explain(err, server)}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

// Exit once the command is done and what it printed is flushed: writes to a pipe whose reader is
// slower than this process are queued, and exiting at once cut a long sync's output short.
const code = await main(process.argv.slice(2));
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write("", resolve))));
process.exit(code);
