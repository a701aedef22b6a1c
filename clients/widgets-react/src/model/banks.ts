// A bank connector in words: its health, its circuit, and what pausing or
// resuming it says.

import { interpolate } from "./strings.js";

const HEALTH: Record<string, string> = { green: "Healthy", yellow: "Degraded", red: "Failing" };
const CIRCUIT: Record<string, string> = { closed: "closed", open: "open", half_open: "half-open" };

/** "Healthy", or the status as it is when this version does not know it. */
export const healthText = (status: string): string => HEALTH[status] ?? status;

/** "half-open", or the state as it is when this version does not know it. */
export const circuitText = (state: string): string => CIRCUIT[state] ?? state;

export interface PauseWording {
  action: "pause_bank" | "resume_bank";
  button: string;
  title: string;
  text: string;
  confirm: string;
  done: string;
}

/** The words of the one action a bank offers: resume it when it is paused,
 *  else pause it. `bank` is its name as the reader reads it. */
export function pauseWording(paused: boolean, bank: string): PauseWording {
  return paused
    ? {
        action: "resume_bank",
        button: "Resume the bank",
        title: interpolate("Resume %(bank)s?", { bank }),
        text: "Payouts will be sent to this bank again.",
        confirm: "Resume",
        done: "Bank resumed.",
      }
    : {
        action: "pause_bank",
        button: "Pause the bank",
        title: interpolate("Pause %(bank)s?", { bank }),
        text: "No payout will be sent to this bank until it is resumed.",
        confirm: "Pause",
        done: "Bank paused.",
      };
}
