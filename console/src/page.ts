/** What a page gets from the shell: navigation, an action wrapper that reports failures, and whether it was left. */
export interface PageContext {
  /** Navigates to a hash route (drawn again when it is the current one), then shows `notice` if given. */
  go(hash: string, notice?: string): void;
  /** Runs a button's action; a failure is shown in the error banner, then the page is drawn again. */
  act(action: () => Promise<unknown>): void;
  /** True once the operator moved to another page: a polling page stops. */
  left(): boolean;
}
