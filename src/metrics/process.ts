// The standard process_* metrics of Prometheus' client libraries, read from Node and /proc
// at scrape time (Linux; on other systems the /proc ones are left out).
import { readdirSync, readFileSync } from 'node:fs';
import type { Family } from './family.js';

const startedAt = Date.now() - process.uptime() * 1000;

function maxFds(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

function openFds(): number | null {
  try {
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return null;
  } // minus the directory's own fd
}

function virtualBytes(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[20]); // vsize: field 23 of stat(5), the 21st after "(comm) "
  } catch {
    return null;
  }
}

export function processFamilies(): Family[] {
  const cpu = process.cpuUsage();
  const out: Family[] = [
    {
      name: 'process_cpu_seconds',
      help: 'Total user and system CPU time spent in seconds (all threads).',
      type: 'counter',
      unit: 'seconds',
      samples: [{ labels: [], value: (cpu.user + cpu.system) / 1e6 }],
    },
    {
      name: 'process_resident_memory_bytes',
      help: 'Resident memory size in bytes.',
      type: 'gauge',
      unit: 'bytes',
      samples: [{ labels: [], value: process.memoryUsage.rss() }],
    },
    {
      name: 'process_start_time_seconds',
      help: 'Start time of the process since unix epoch in seconds.',
      type: 'gauge',
      unit: 'seconds',
      samples: [{ labels: [], value: Math.round(startedAt / 10) / 100 }],
    },
  ];
  const v = virtualBytes();
  if (v !== null)
    out.push({
      name: 'process_virtual_memory_bytes',
      help: 'Virtual memory size in bytes.',
      type: 'gauge',
      unit: 'bytes',
      samples: [{ labels: [], value: v }],
    });
  const open = openFds();
  if (open !== null)
    out.push({
      name: 'process_open_fds',
      help: 'Number of open file descriptors.',
      type: 'gauge',
      samples: [{ labels: [], value: open }],
    });
  const max = maxFds();
  if (max !== null)
    out.push({
      name: 'process_max_fds',
      help: 'Maximum number of open file descriptors.',
      type: 'gauge',
      samples: [{ labels: [], value: max }],
    });
  return out;
}
