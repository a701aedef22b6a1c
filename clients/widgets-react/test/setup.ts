import { cleanup, configure } from "@testing-library/react";
import { afterEach, vi } from "vitest";

// what the widgets wait for is the real service (and its KPI socket's
// push): on a loaded machine that can take longer than Testing Library's 1 s
configure({ asyncUtilTimeout: 10_000 });

afterEach(() => cleanup());

// The widgets update when the real service answers, between the polls of
// waitFor(), which is how the tests await them: React's "not wrapped in
// act(...)" notice says nothing about these, and any other console error
// still shows.
const error = console.error.bind(console);
vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
  if (typeof args[0] === "string" && args[0].includes("not wrapped in act(")) return;
  error(...args);
});
