/** A child that only reports (child-protocol.test.ts): its peak RSS is a bare Node process's. */
import { reportResult } from "./child-protocol.js";

reportResult({ prefillTokensPerSecond: 0, prefillTrials: [], contexts: [], peakRssBytes: 0, loadSeconds: 0 });
