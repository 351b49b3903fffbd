/**
 * Finds or installs the pinned Temporal CLI (which carries the dev server and its UI).
 * Order, from DESIGN.md: $TEMPORAL_CLI, `temporal` on PATH, the cached binary under
 * `<home>/bin`, the official release archive, then `go install`. Each candidate's version is
 * checked; the first that matches wins and is cached.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, chmod, constants, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const TEMPORAL_CLI_VERSION = '1.5.1';
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
/** The server the pinned CLI embeds; checked too, so a relabelled build of another release is refused. */
export const TEMPORAL_SERVER_VERSION = '1.29.1';

export type CliSource = 'TEMPORAL_CLI' | 'PATH' | 'cache' | 'download' | 'go install';

export interface ProvisionedCli {
  path: string;
  version: string;
  source: CliSource;
}

export interface ProvisionOptions {
  /** Driftline's state directory; the binary is cached in `<home>/bin`. */
  home: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** Override for tests and mirrors: where the release archives live. */
  releaseBaseUrl?: string;
}

export class TemporalCliProvisionError extends Error {
  override readonly name = 'TemporalCliProvisionError';
}

const executableName = process.platform === 'win32' ? 'temporal.exe' : 'temporal';

export function cachedCliPath(home: string): string {
  return join(home, 'bin', executableName);
}

export async function provisionTemporalCli(options: ProvisionOptions): Promise<ProvisionedCli> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const wanted = TEMPORAL_CLI_VERSION;

  const explicit = env.TEMPORAL_CLI?.trim();
  if (explicit) {
    const version = await cliVersion(explicit);
    if (version === undefined) {
      throw new TemporalCliProvisionError(
        `TEMPORAL_CLI is set to ${explicit}, which is not a runnable Temporal CLI; point it at a temporal v${wanted} binary or unset it.`,
      );
    }
    if (version !== wanted) log(`temporal: TEMPORAL_CLI is version ${version}, not the pinned ${wanted}; using it as asked.`);
    return { path: explicit, version, source: 'TEMPORAL_CLI' };
  }

  const onPath = await findOnPath(executableName, env.PATH ?? '');
  if (onPath) {
    const version = await cliVersion(onPath);
    if (version === wanted) return { path: onPath, version, source: 'PATH' };
    log(`temporal: ${onPath} is version ${version ?? 'unknown'}, not ${wanted}; looking further.`);
  }

  const cached = cachedCliPath(options.home);
  const cachedVersion = await cliVersion(cached);
  if (cachedVersion === wanted) return { path: cached, version: wanted, source: 'cache' };
  if (cachedVersion !== undefined) log(`temporal: cached ${cached} is version ${cachedVersion}; replacing it.`);

  await mkdir(join(options.home, 'bin'), { recursive: true });
  const reasons: string[] = [];

  log(`temporal: downloading the Temporal CLI v${wanted} release archive...`);
  try {
    await downloadRelease(cached, options.releaseBaseUrl);
    const version = await cliVersion(cached);
    if (version === wanted) {
      log(`temporal: installed v${wanted} at ${cached}.`);
      return { path: cached, version, source: 'download' };
    }
    reasons.push(`the downloaded binary reports version ${version ?? 'unknown'}`);
  } catch (error) {
    reasons.push(`download failed: ${describe(error)}`);
    log(`temporal: download failed (${describe(error)}).`);
  }

  const go = await findOnPath(process.platform === 'win32' ? 'go.exe' : 'go', env.PATH ?? '');
  if (go) {
    log(`temporal: building v${wanted} with ${go} (go install; a few minutes the first time, cached after)...`);
    try {
      await goInstall(go, join(options.home, 'bin'), env, log);
      const version = await cliVersion(cached);
      if (version === wanted) {
        log(`temporal: built v${wanted} at ${cached}.`);
        return { path: cached, version, source: 'go install' };
      }
      reasons.push(`go install produced version ${version ?? 'unknown'}`);
    } catch (error) {
      reasons.push(`go install failed: ${describe(error)}`);
    }
  } else {
    reasons.push('Go is not installed');
  }

  throw new TemporalCliProvisionError(
    `Could not provision the Temporal CLI v${wanted} (${reasons.join('; ')}): set TEMPORAL_CLI to a temporal v${wanted} binary, ` +
      `put temporal v${wanted} on PATH, connect to the internet so the release can be downloaded, or install Go so that ` +
      `\`go install ${TEMPORAL_CLI_MODULE}@v${wanted}\` can build it.`,
  );
}

/** The version a binary reports (`temporal version 1.5.1 (Server …)`), or undefined if it can't run. */
export async function cliVersion(path: string): Promise<string | undefined> {
  try {
    await access(path, constants.X_OK);
    const { stdout } = await execFileAsync(path, ['--version'], { timeout: 15_000 });
    const match = /temporal version v?(\S+) \(Server ([^,)]+)/.exec(stdout);
    if (!match) return undefined;
    const [, cli, server] = match;
    // A build whose label and embedded server disagree with the pin is not the pinned CLI.
    return cli === TEMPORAL_CLI_VERSION && server !== TEMPORAL_SERVER_VERSION ? `${cli}+server-${server}` : cli;
  } catch {
    return undefined;
  }
}

async function findOnPath(name: string, pathVar: string): Promise<string | undefined> {
  for (const dir of pathVar.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function releasePlatform(): { os: string; arch: string; ext: 'tar.gz' | 'zip' } {
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  return { os, arch, ext: os === 'windows' ? 'zip' : 'tar.gz' };
}

/** Downloads the release archive, checks it against the release's checksum file, extracts the binary. */
async function downloadRelease(destination: string, baseUrl?: string): Promise<void> {
  const version = TEMPORAL_CLI_VERSION;
  const base = baseUrl ?? `https://github.com/temporalio/cli/releases/download/v${version}`;
  const { os, arch, ext } = releasePlatform();
  const archiveName = `temporal_cli_${version}_${os}_${arch}.${ext}`;

  const checksums = await fetchBytes(`${base}/temporal_cli_${version}_checksums.txt`);
  const expected = new TextDecoder()
    .decode(checksums)
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find(([, file]) => file === archiveName)?.[0];
  if (!expected) throw new Error(`the release has no checksum for ${archiveName}`);

  const archive = await fetchBytes(`${base}/${archiveName}`);
  const actual = createHash('sha256').update(archive).digest('hex');
  if (actual !== expected) throw new Error(`${archiveName} has sha256 ${actual}, expected ${expected}`);

  const work = await mkdtemp(join(tmpdir(), 'driftline-temporal-'));
  try {
    const archivePath = join(work, archiveName);
    await writeFile(archivePath, archive);
    // bsdtar (macOS, Windows) and GNU tar both read .tar.gz; bsdtar also reads .zip.
    await execFileAsync('tar', ['-xf', archivePath, '-C', work], { timeout: 60_000 });
    const extracted = join(work, executableName);
    await chmod(extracted, 0o755);
    await rename(extracted, destination).catch(async () => {
      // rename fails across devices: copy through a sibling temp file instead
      const { copyFile } = await import('node:fs/promises');
      await copyFile(extracted, `${destination}.tmp`);
      await rename(`${destination}.tmp`, destination);
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url, { signal: AbortSignal.timeout(120_000) });
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function goInstall(go: string, gobin: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    // The release build stamps its version with -ldflags; without it `go install` reports 0.0.0-DEV.
    const ldflags = `-s -w -X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`;
    const child = spawn(go, ['install', `-ldflags=${ldflags}`, `${TEMPORAL_CLI_MODULE}@v${TEMPORAL_CLI_VERSION}`], {
      env: { ...env, GOBIN: gobin, GOFLAGS: env.GOFLAGS ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lastLines: string[] = [];
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        lastLines = [...lastLines.slice(-4), line];
        if (!line.startsWith('go: downloading')) log(`  go: ${line}`);
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`exit code ${code}: ${lastLines.join(' | ')}`));
    });
  });
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}
