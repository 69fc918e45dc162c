/** Python's ways of writing numbers into series names and tags, so names match graphite-web's to the character. */

/** repr(float) / str(float): shortest round-trip digits, exponent below 1e-4 and from 1e16, always a `.0`. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(x);
  if (abs >= 1e16 || abs < 1e-4) {
    const [mantissa, exponent] = x.toExponential().split('e') as [string, string];
    const e = Number(exponent);
    return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  const text = String(x);
  return text.includes('.') ? text : `${text}.0`;
}

/** str() of a number that Python holds as an int (`isInt`) or a float. */
export function pyStr(x: number, isInt: boolean): string {
  return isInt && Number.isInteger(x) ? String(x) : pyFloat(x);
}

/** '%g': six significant digits, trailing zeros dropped, exponent below 1e-4 and from 1e6. */
export function pyG(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const exponent = Number(x.toExponential(5).split('e')[1]);
  if (exponent < -4 || exponent >= 6) {
    const [mantissa, e] = x.toExponential(5).split('e') as [string, string];
    const trimmed = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
    const n = Number(e);
    return `${trimmed}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  const fixed = x.toFixed(Math.max(0, 5 - exponent));
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

/**
 * Python's round(x, digits): the decimal nearest the double's exact value, an exact tie to even. toFixed rounds
 * the exact value too but breaks ties upwards, so a tie (the exact expansion is ...5 then zeros) is redone.
 */
export function pyRound(x: number, digits: number): number {
  if (!Number.isFinite(x) || Math.abs(x) >= 1e21) return x;
  const exact = Math.abs(x).toFixed(Math.min(100, digits + 60));
  const point = exact.indexOf('.');
  const rest = exact.slice(point + 1 + digits);
  if (!/^50*$/.test(rest)) return Number(x.toFixed(digits));
  const kept = exact.slice(0, point + 1 + digits);
  const last = Number(kept.replace('.', '').slice(-1));
  const down = Number(kept.endsWith('.') ? kept.slice(0, -1) : kept);
  const unit = 10 ** -digits;
  const magnitude = last % 2 === 0 ? down : down + unit;
  return Number((x < 0 ? -magnitude : magnitude).toFixed(digits));
}

/** int(x) written out in full, as Python does for any size. */
function integerText(x: number): string {
  return Math.abs(x) >= 1e21 ? BigInt(Math.trunc(x)).toString() : String(Math.trunc(x));
}

/** `template % value` for one number, as Python formats it: %d %i %s %f %e %g with flags, width and precision. */
export function pyPercent(template: string, value: number): string {
  let used = false;
  return template.replace(
    /%([-+ 0#]*)(\d*)(?:\.(\d+))?([diouxXeEfFgGs%])/g,
    (whole, flags: string, width: string, precision: string | undefined, conversion: string) => {
      if (conversion === '%') return '%';
      if (used) throw new Error('not enough arguments for format string');
      used = true;
      let text: string;
      switch (conversion) {
        case 'd':
        case 'i':
        case 'u':
          text = integerText(value);
          break;
        case 'f':
        case 'F': {
          const digits = precision === undefined ? 6 : Number(precision);
          // toFixed switches to exponent notation from 1e21; such a double is an integer, written out in full
          text =
            Math.abs(value) >= 1e21
              ? `${integerText(value)}${digits > 0 ? `.${'0'.repeat(digits)}` : ''}`
              : pyRound(value, digits).toFixed(digits);
          break;
        }
        case 'e':
        case 'E': {
          const [m, e] = value.toExponential(precision === undefined ? 6 : Number(precision)).split('e') as [
            string,
            string,
          ];
          const n = Number(e);
          text = `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
          if (conversion === 'E') text = text.toUpperCase();
          break;
        }
        case 'g':
        case 'G':
          text = pyG(value);
          break;
        default:
          text = pyFloat(value);
      }
      if (flags.includes('+') && value >= 0 && conversion !== 's') text = `+${text}`;
      const w = Number(width || 0);
      if (text.length < w) {
        if (flags.includes('-')) text = text.padEnd(w);
        else if (flags.includes('0')) {
          // zeros go after the sign
          const sign = /^[-+]/.test(text) ? text[0]! : '';
          text = sign + text.slice(sign.length).padStart(w - sign.length, '0');
        } else text = text.padStart(w);
      }
      void whole;
      return text;
    },
  );
}
