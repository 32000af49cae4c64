// A CPU budget for a benchmark's server process: a cgroup (v1 `cpu`
// controller, as this machine mounts it at /sys/fs/cgroup/cpu) whose CFS quota
// is a fraction of one core, and the command prefix that starts a process in
// it (the process and every child it forks, a mediasoup worker included, are
// counted against the one budget). Used where the load generator shares the
// machine with the servers it measures: a server limited to, say, 10 % of a
// core saturates at a load the generator can still drive, so its capacity can
// be found on two cores. The budget is enforced per `periodUs` (10 ms by
// default, so a throttled server stalls at most that long at a time, not the
// kernel's default 100 ms). Needs root; `cpuQuotaAvailable()` says whether it works
// here. remove() takes the cgroup away once its processes have exited.
import fs from 'node:fs';
import path from 'node:path';

const CPU_ROOT = '/sys/fs/cgroup/cpu';

export interface CpuQuota {
  /** The fraction of one core, as asked (0.1 = 10 %). */
  readonly share: number;
  /** argv prefix: `[...prefix, command, ...args]` runs `command` inside the budget. */
  readonly prefix: string[];
  /** Times the kernel held the processes back for the budget. */
  throttled(): number;
  remove(): void;
}

/** Whether cgroup v1 CPU quotas can be made here (root, the controller mounted and writable). */
export function cpuQuotaAvailable(): boolean {
  try {
    fs.accessSync(path.join(CPU_ROOT, 'cgroup.procs'), fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** A cgroup `name` with `share` of one core; its throttling counter starts at 0. */
export function cpuQuota(name: string, share: number, periodUs = 10_000): CpuQuota {
  if (!(share > 0 && share <= 64)) throw new Error(`a CPU share must be in (0, 64] cores, got ${share}`);
  const dir = path.join(CPU_ROOT, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'cpu.cfs_period_us'), String(periodUs));
  fs.writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), String(Math.max(1000, Math.round(share * periodUs))));
  const statOf = () => Object.fromEntries(fs.readFileSync(path.join(dir, 'cpu.stat'), 'utf8').trim().split('\n').map((l) => l.split(' ')).map(([k, v]) => [k, Number(v)]));
  const startThrottled = statOf().nr_throttled ?? 0;
  return {
    share,
    // The shell writes its own pid into the group, then becomes the command: children inherit the group.
    prefix: ['sh', '-c', `echo $$ > ${path.join(dir, 'cgroup.procs')} && exec "$@"`, 'cpu-quota'],
    throttled: () => (statOf().nr_throttled ?? 0) - startThrottled,
    remove() {
      try {
        fs.rmdirSync(dir);
      } catch {
        /* processes still in it, or gone already: the kernel keeps an empty group harmlessly */
      }
    },
  };
}
