import { describe, expect, it } from "vitest";
import { StopSequenceMatcher } from "./stop-sequence-matcher.js";

describe("StopSequenceMatcher", () => {
  it("holds back a possible stop prefix and cuts at the stop sequence", () => {
    const matcher = new StopSequenceMatcher(["The end"]);
    expect(matcher.push("They lived. The")).toBe("They lived. ");
    expect(matcher.push(" e")).toBe("");
    expect(matcher.push("nd!")).toBe("");
    expect(matcher.hasStopped).toBe(true);
  });

  it("releases held text when it turns out not to be a stop", () => {
    const matcher = new StopSequenceMatcher(["\n\n"]);
    expect(matcher.push("a\n")).toBe("a");
    expect(matcher.push("b")).toBe("\nb");
    expect(matcher.push("c\n")).toBe("c");
    expect(matcher.flush()).toBe("\n");
  });

  it("stops at the earliest of several sequences", () => {
    const matcher = new StopSequenceMatcher(["dog", "cat"]);
    expect(matcher.push("a cat and a dog")).toBe("a ");
  });
});
