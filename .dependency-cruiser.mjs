// The architecture, checked on every `npm test` (npm run lint): contract/ is the wire and the
// metric model, core/ the server code both runtimes share, worker/ the Worker and
// durable-objects/ the objects. Dependencies point one way, and nothing imports in a circle.
//
//   web/src ──→ contract ←── core ←── worker
//                                 ←── durable-objects
export default {
  forbidden: [
    {
      name: "no-cycles",
      comment: "An import cycle (type-only imports included) makes a module's meaning depend on load order.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "contract-is-a-leaf",
      comment: "contract/ is read by the Worker, the objects and the page: it imports nothing of theirs.",
      severity: "error",
      from: { path: "^contract/" },
      to: { path: "^(core|worker|durable-objects|web|tools|bench|test)/" },
    },
    {
      name: "core-below-the-runtimes",
      comment: "core/ is shared by the Worker and the objects, so it imports neither.",
      severity: "error",
      from: { path: "^core/" },
      to: { path: "^(worker|durable-objects|web)/" },
    },
    {
      name: "worker-not-into-objects",
      comment:
        "The Worker reaches the objects through their RPC interfaces in core/, never their code (worker/index.ts exports the classes for the runtime).",
      severity: "error",
      from: { path: "^worker/", pathNot: "^worker/index\\.ts$" },
      to: { path: "^durable-objects/" },
    },
    {
      name: "objects-not-into-worker",
      comment: "The objects share server code with the Worker through core/, never by importing it.",
      severity: "error",
      from: { path: "^durable-objects/" },
      to: { path: "^worker/" },
    },
    {
      name: "page-reads-the-contract",
      comment: "The page knows the server through contract/ (and the API's type, erased at build): no server code in the bundle.",
      severity: "error",
      from: { path: "^web/" },
      to: { path: "^(core|worker|durable-objects)/", dependencyTypesNot: ["type-only"] },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(node_modules|dist|gen)/|worker-configuration\\.d\\.ts$" },
  },
};
