// The CLI's files: credentials per profile (server, user, device, token) and the last inbox seq
// per user, in one JSON file, by default ~/.config/gim/credentials.json (mode 0600).
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** `--config`, else $GIM_CONFIG, else $XDG_CONFIG_HOME/gim/credentials.json, else ~/.config/gim/credentials.json. */
export function configPath(flag) {
  if (flag) {
    return flag;
  }
  if (process.env.GIM_CONFIG) {
    return process.env.GIM_CONFIG;
  }
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(base, "gim", "credentials.json");
}

export class ConfigFile {
  /** @param {string} path */
  constructor(path) {
    this.path = path;
    this.data = { profiles: {} };
    try {
      const parsed = JSON.parse(readFileSync(path, "utf8"));
      if (parsed && typeof parsed === "object" && parsed.profiles && typeof parsed.profiles === "object") {
        this.data = parsed;
      }
    } catch (err) {
      if (err.code !== "ENOENT") {
        throw new Error(`cannot read ${path}: ${err.message}`);
      }
    }
  }

  /** @returns {{server: string, userId: number, deviceId: number, token: string, phone?: string, lastSeq?: number} | undefined} */
  profile(name) {
    return this.data.profiles[name];
  }

  setProfile(name, value) {
    this.data.profiles[name] = value;
    this.save();
  }

  deleteProfile(name) {
    delete this.data.profiles[name];
    this.save();
  }

  /** Writes atomically (temp file + rename), readable by the owner only: it holds tokens. */
  save() {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.data, null, 2) + "\n", { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.path);
  }
}

/**
 * The SDK's SeqStore over a profile: the last seq survives between runs, so `gim sync` and
 * `gim listen` resume where the previous run stopped.
 */
export function profileSeqStore(file, name) {
  return {
    load(userId) {
      const p = file.profile(name);
      return p && p.userId === userId ? p.lastSeq ?? 0 : 0;
    },
    save(userId, seq) {
      const fresh = new ConfigFile(file.path); // another run may have written meanwhile
      const p = fresh.profile(name);
      if (p && p.userId === userId && (p.lastSeq ?? 0) < seq) {
        fresh.setProfile(name, { ...p, lastSeq: seq });
        file.data = fresh.data;
      }
    },
  };
}
