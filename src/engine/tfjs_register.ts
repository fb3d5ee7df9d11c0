// TF.js as the engine uses it, registered once per JavaScript context: the gradients of the core
// ops (tf.grad, tf.valueAndGrads) and the chained-op methods (x.sum(), x.toInt(), ...). The
// umbrella package @tensorflow/tfjs registers the same but also loads layers, converter and data,
// which the lab does not use, so the browser entries (the worker, the kernels page) import this
// module with @tensorflow/tfjs-core and only the backends they can pick (engine/backend.ts).
// In Node (unit tests, bench:node) @tensorflow/tfjs is loaded instead: its CommonJS build
// registers the same and loads in seconds, where these ES modules take tens of seconds there.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
