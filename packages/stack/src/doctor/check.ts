/*
 * What every check family of `serve doctor` shares: a check, and the verdict of a list of them.
 * Types and one pure function; nothing here imports another file of this folder.
 */

/** How a check came out: fine, worth a look, or something that will not work. */
export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One line of `serve doctor`. Never holds a secret value. */
export interface Check {
  id: string;
  title: string;
  status: CheckStatus;
  message: string;
  hint?: string;
  details?: string[];
}

/** How the checks came out as a whole: `config-invalid` before `broken`; warnings alone are `ok`. */
export type DoctorVerdict = 'ok' | 'broken' | 'config-invalid';

/** The verdict of a list of checks. */
export function doctorVerdict(checks: readonly Check[]): DoctorVerdict {
  if (checks.some((c) => c.id === 'config' && c.status === 'fail')) return 'config-invalid';
  return checks.some((c) => c.status === 'fail') ? 'broken' : 'ok';
}
