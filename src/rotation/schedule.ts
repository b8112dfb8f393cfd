import { Duration } from 'aws-cdk-lib';
import { propError } from '../errors';

const MIN_HOURS = 4;
const MAX_DAYS = 1000;

/**
 * When a secret rotates: every N hours or days (4 hours to 1,000 days), or
 * a Secrets Manager `rate(...)` / `cron(...)` expression.
 */
export class RotationSchedule {
  /**
   * Rotate this long after the last rotation: between 4 hours and 1,000 days.
   * @param interval the time between rotations, 4 hours to 1,000 days.
   */
  public static after(interval: Duration): RotationSchedule {
    if (interval.isUnresolved()) {
      throw propError('RotationSchedule.after', 'interval', 'is a token; the interval must be known at synth.', 'Pass a literal Duration: Duration.days(n) or Duration.hours(n).');
    }
    const hours = interval.toHours({ integral: false });
    if (!Number.isInteger(hours) || hours < MIN_HOURS || hours > MAX_DAYS * 24) {
      throw propError('RotationSchedule.after', 'interval', `${interval.toHumanString()} is outside the 4 hours to 1,000 days Secrets Manager allows (in whole hours).`, 'Use a whole number of hours or days between Duration.hours(4) and Duration.days(1000).');
    }
    const expression = hours % 24 === 0 ? `rate(${hours / 24} ${hours === 24 ? 'day' : 'days'})` : `rate(${hours} hours)`;
    return new RotationSchedule(expression, hours);
  }

  /**
   * A Secrets Manager schedule expression: `rate(N hours|days)` (4 hours to
   * 1,000 days) or `cron(...)` with six fields.
   * @param expression a Secrets Manager schedule: `rate(...)` or `cron(...)`.
   */
  public static expression(expression: string): RotationSchedule {
    const rate = /^rate\((\d+) (hour|hours|day|days)\)$/.exec(expression);
    if (rate) {
      const n = Number(rate[1]);
      const hours = rate[2].startsWith('hour') ? n : n * 24;
      if (hours < MIN_HOURS || hours > MAX_DAYS * 24) {
        throw propError('RotationSchedule.expression', 'expression', `'${expression}' is outside the 4 hours to 1,000 days Secrets Manager allows.`, 'Use rate(4 hours) up to rate(1000 days).');
      }
      return new RotationSchedule(expression, hours);
    }
    const cron = /^cron\((.+)\)$/.exec(expression);
    if (cron && cron[1].trim().split(/\s+/).length === 6) {
      return new RotationSchedule(expression, undefined);
    }
    throw propError('RotationSchedule.expression', 'expression', `'${expression}' is neither rate(N hours|days) nor a six-field cron(...) expression.`, "Write for example 'rate(30 days)' or 'cron(0 4 ? * SUN *)'.");
  }

  /**
   * @param scheduleExpression the Secrets Manager schedule expression
   * @param intervalHours the interval in hours, for rate expressions
   */
  private constructor(public readonly scheduleExpression: string, public readonly intervalHours?: number) {}
}
