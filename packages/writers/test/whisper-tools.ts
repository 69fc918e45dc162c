/**
 * Graphite's own whisper tools, the reference our files are checked against. Missing tools fail the test with the
 * install command: this check must never be skipped.
 */
import { execFileSync } from 'node:child_process';

const INSTALL_HINT = 'Graphite whisper tools are missing: apt-get update && apt-get install -y python3-whisper';
/** Debian's python3-whisper installs the module for the system interpreter, which its scripts' shebang names. */
const SYSTEM_PYTHON = '/usr/bin/python3';

function run(command: string, args: string[], input?: string): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === 'ENOENT') throw new Error(`${command} not found. ${INSTALL_HINT}`);
    if (failure.stderr?.includes("No module named 'whisper'"))
      throw new Error(`python module whisper not found. ${INSTALL_HINT}`);
    throw new Error(`${command} ${args.join(' ')} failed: ${failure.stderr ?? failure.message}`);
  }
}

export interface ToolInfo {
  aggregationMethod: string;
  maxRetention: number;
  xFilesFactor: number;
  fileSize: number;
  archives: { offset: number; secondsPerPoint: number; points: number; retention: number; size: number }[];
}

export function whisperInfo(path: string): ToolInfo {
  return JSON.parse(run('whisper-info', ['--json', path])) as ToolInfo;
}

export interface ToolFetch {
  start: number;
  end: number;
  step: number;
  values: (number | null)[];
}

/** `whisper-fetch --json`: archive chosen by whisper from `now - from`, with the real clock. */
export function whisperFetch(path: string, from: number, until: number): ToolFetch {
  return JSON.parse(run('whisper-fetch', ['--json', `--from=${from}`, `--until=${until}`, path])) as ToolFetch;
}

const PYTHON_SCRIPT = `
import json, sys, whisper
request = json.load(sys.stdin)
op = request['op']
if op == 'create':
    whisper.create(request['path'], [tuple(a) for a in request['archives']], request['xFilesFactor'],
                   request['aggregationMethod'], sparse=request.get('sparse', False))
    out = None
elif op == 'update_many':
    whisper.update_many(request['path'], [tuple(p) for p in request['points']], now=request['now'])
    out = None
elif op == 'update_each':
    # One update per point, in order: what carbon-cache does when points arrive one at a time.
    for point in request['points']:
        whisper.update_many(request['path'], [tuple(point)], now=request['now'])
    out = None
elif op == 'fetch':
    out = whisper.fetch(request['path'], request['from'], request['until'], now=request['now'],
                        archiveToSelect=request.get('archive'))
json.dump(out, sys.stdout)
`;

/** Runs one call of python's whisper module (the library behind the tools) with a fixed `now`. */
export function pythonWhisper(request: Record<string, unknown>): unknown {
  return JSON.parse(run(SYSTEM_PYTHON, ['-c', PYTHON_SCRIPT], JSON.stringify(request)));
}

/** python whisper.fetch → [[from, until, step], values] or null. */
export function pythonFetch(
  path: string,
  from: number,
  until: number,
  now: number,
  archive?: number,
): [[number, number, number], (number | null)[]] | null {
  return pythonWhisper({ op: 'fetch', path, from, until, now, archive }) as
    [[number, number, number], (number | null)[]] | null;
}
