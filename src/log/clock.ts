// Times for log lines: Apache's Common Log Format time `[10/Oct/2000:13:55:36 -0700]`
// (local time, as Apache), ISO 8601 for the error log and JSON lines, and a strftime(3)
// subset for `%{format}t`. Text that only changes once a second is cached per second.

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const DAYS_LONG = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTHS_LONG = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

const p2 = (n: number): string => (n < 10 ? '0' + n : String(n));
const p3 = (n: number): string => (n < 10 ? '00' + n : n < 100 ? '0' + n : String(n));

/** `-0700` for a Date (local time). */
function zone(d: Date): string {
  const off = -d.getTimezoneOffset();
  const a = Math.abs(off);
  return (off < 0 ? '-' : '+') + p2(Math.floor(a / 60)) + p2(a % 60);
}

/** strftime(3) for the conversions Apache users put in %{…}t (C locale). */
export function strftime(fmt: string, d: Date): string {
  let out = '';
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]!;
    if (c !== '%' || i + 1 >= fmt.length) {
      out += c;
      continue;
    }
    const f = fmt[++i]!;
    switch (f) {
      case 'a':
        out += DAYS[d.getDay()];
        break;
      case 'A':
        out += DAYS_LONG[d.getDay()];
        break;
      case 'b':
      case 'h':
        out += MONTHS[d.getMonth()];
        break;
      case 'B':
        out += MONTHS_LONG[d.getMonth()];
        break;
      case 'c':
        out +=
          `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2)} `
          + `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${d.getFullYear()}`;
        break;
      case 'C':
        out += p2(Math.floor(d.getFullYear() / 100));
        break;
      case 'd':
        out += p2(d.getDate());
        break;
      case 'D':
        out += `${p2(d.getMonth() + 1)}/${p2(d.getDate())}/${p2(d.getFullYear() % 100)}`;
        break;
      case 'e':
        out += String(d.getDate()).padStart(2);
        break;
      case 'F':
        out += `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}`;
        break;
      case 'H':
        out += p2(d.getHours());
        break;
      case 'I':
        out += p2(((d.getHours() + 11) % 12) + 1);
        break;
      case 'j': {
        const start = new Date(d.getFullYear(), 0, 1);
        out += p3(
          Math.floor(
            (d.getTime() - start.getTime() + (start.getTimezoneOffset() - d.getTimezoneOffset()) * 60_000) / 86_400_000,
          ) + 1,
        );
        break;
      }
      case 'k':
        out += String(d.getHours()).padStart(2);
        break;
      case 'l':
        out += String(((d.getHours() + 11) % 12) + 1).padStart(2);
        break;
      case 'm':
        out += p2(d.getMonth() + 1);
        break;
      case 'M':
        out += p2(d.getMinutes());
        break;
      case 'n':
        out += '\n';
        break;
      case 'p':
        out += d.getHours() < 12 ? 'AM' : 'PM';
        break;
      case 'r':
        out +=
          `${p2(((d.getHours() + 11) % 12) + 1)}:${p2(d.getMinutes())}:${p2(d.getSeconds())} `
          + `${d.getHours() < 12 ? 'AM' : 'PM'}`;
        break;
      case 'R':
        out += `${p2(d.getHours())}:${p2(d.getMinutes())}`;
        break;
      case 's':
        out += String(Math.floor(d.getTime() / 1000));
        break;
      case 'S':
        out += p2(d.getSeconds());
        break;
      case 't':
        out += '\t';
        break;
      case 'T':
        out += `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
        break;
      case 'u':
        out += String(d.getDay() === 0 ? 7 : d.getDay());
        break;
      case 'w':
        out += String(d.getDay());
        break;
      case 'y':
        out += p2(d.getFullYear() % 100);
        break;
      case 'Y':
        out += String(d.getFullYear());
        break;
      case 'z':
        out += zone(d);
        break;
      case 'Z':
        out += /\(([^)]+)\)/.exec(d.toString())?.[1] ?? zone(d);
        break;
      case '%':
        out += '%';
        break;
      default:
        out += '%' + f;
    }
  }
  return out;
}

/** Formats epoch milliseconds by a strftime format, recomputing only when the second changes. */
export class SecondCache {
  private second = -1;
  private text = '';
  constructor(private readonly format: (d: Date) => string) {}
  at(ms: number): string {
    const s = Math.floor(ms / 1000);
    if (s !== this.second) {
      this.second = s;
      this.text = this.format(new Date(s * 1000));
    }
    return this.text;
  }
}

/** `[10/Oct/2000:13:55:36 -0700]`, Apache's %t. */
export const clfFormat = (d: Date): string => strftime('[%d/%b/%Y:%H:%M:%S %z]', d);

export { p3 as pad3 };
