// A CronJob's schedule, read the way Kubernetes reads it: five fields (minute hour day-of-month
// month day-of-week, with the usual ranges, lists, steps and names) or a macro (@yearly,
// @annually, @monthly, @weekly, @daily, @midnight, @hourly), in the CronJob's time zone; a day of
// the month and a day of the week both given means either (as Vixie cron). The arithmetic is
// croner's.

import { Cron } from 'croner';

const MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

/** What is wrong with a schedule or time zone, in Kubernetes' words; undefined when nothing. */
export function scheduleProblem(schedule: string, timeZone?: string): { field: 'schedule' | 'timeZone'; message: string } | undefined {
  if (/(^|\s)(CRON_)?TZ=/.test(schedule)) return { field: 'schedule', message: 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead' };
  if (timeZone !== undefined && !knownTimeZone(timeZone)) return { field: 'timeZone', message: `unknown time zone ${timeZone}` };
  const trimmed = schedule.trim();
  if (trimmed.startsWith('@')) {
    return MACROS.has(trimmed.toLowerCase()) ? undefined : { field: 'schedule', message: `unrecognized descriptor: ${trimmed}` };
  }
  const fields = trimmed.split(/\s+/);
  if (fields.length !== 5) return { field: 'schedule', message: `expected exactly 5 fields, found ${fields.length}: ${schedule}` };
  try {
    parse(trimmed, timeZone);
  } catch (err) {
    return { field: 'schedule', message: (err as Error).message.replace(/^CronPattern: /, '') };
  }
  return undefined;
}

/** Each time of the schedule after `from` and at most `until`, oldest first, at most `limit` of them. */
export function scheduleTimes(schedule: string, timeZone: string | undefined, from: Date, until: Date, limit: number): Date[] {
  const cron = parse(schedule.trim(), timeZone);
  const out: Date[] = [];
  let t: Date | null = from;
  while (out.length < limit) {
    t = cron.nextRun(t);
    if (!t || t > until) break;
    out.push(t);
  }
  return out;
}

/** The first time of the schedule after `from`. */
export function nextScheduleTime(schedule: string, timeZone: string | undefined, from: Date): Date | undefined {
  return parse(schedule.trim(), timeZone).nextRun(from) ?? undefined;
}

function parse(schedule: string, timeZone: string | undefined): Cron {
  const pattern = schedule.startsWith('@') ? schedule.toLowerCase() : schedule;
  return new Cron(pattern, { paused: true, ...(timeZone ? { timezone: timeZone } : {}) });
}

function knownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
