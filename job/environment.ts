/**
 * What a run folder records about where it ran: the backend of each model session it used (a `started` event,
 * protocol/job.ts JobStarted, with `machine` and `versions`), so `rtune report` can say which machine, backend
 * and versions produced a result. Read once per process.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { JOB_PROTOCOL_VERSION, type BackendInfo, type JobStarted, type RunMachine } from '../protocol/job';

let rtuneVersion: string | undefined;

/** rtune's version: package.json's, found above this file (dist/ and out/job/ alike); "unknown" when absent. */
function packageVersion(): string {
  if (rtuneVersion !== undefined) return rtuneVersion;
  rtuneVersion = 'unknown';
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'rtune' && typeof pkg.version === 'string') return (rtuneVersion = pkg.version);
    } catch {
      // not here
    }
    dir = path.dirname(dir);
  }
  return rtuneVersion;
}

export function machineInfo(): RunMachine {
  const cpus = os.cpus();
  return {
    host: os.hostname(),
    platform: `${os.platform()} ${os.release()}`,
    arch: os.arch(),
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryBytes: os.totalmem(),
  };
}

export function versionsInfo(): Record<string, string> {
  return { rtune: packageVersion(), node: process.version, tfjs: tf.version.tfjs ?? 'unknown' };
}

/** The `started` event a run folder records for the model session `model` it uses. */
export function startedEvent(job: string, model: string, backend: BackendInfo): JobStarted {
  return {
    type: 'started',
    protocolVersion: JOB_PROTOCOL_VERSION,
    job,
    model,
    backend,
    time: new Date().toISOString(),
    machine: machineInfo(),
    versions: versionsInfo(),
  };
}
