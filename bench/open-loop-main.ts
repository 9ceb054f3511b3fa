import { openLoop, type OpenLoopPlan } from './open-loop.js';

// The open-loop generator's own process (forked by fixed-rate.ts): it receives the plan, answers 'ready',
// runs when told 'go' (the harness reads the server's CPU time in between), sends the outcome and exits.
process.once('message', (plan: OpenLoopPlan) => {
  process.once('message', () => {
    openLoop(plan).then(
      (outcome) => process.send!(outcome, () => process.exit(0)),
      (error: unknown) => {
        process.stderr.write(`open loop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  });
  process.send!('ready');
});
