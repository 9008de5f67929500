// onnxruntime's CPU inference speed (npm onnxruntime-node, graph
// optimisations on), images/s, best of REPEATS after one warm-up, printed
// like bench_onnx. Run by bench/compare_onnx.sh with NODE_PATH pointing at a
// temporary npm install (never a dependency of tensorcook).
// Usage: node bench/ort_speed.js MODEL.onnx SIDE THREADS REPEATS BATCH...
const ort = require('onnxruntime-node');

async function main() {
  const [model, side, threads, repeats, ...batches] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: Number(threads),
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const input = session.inputNames[0];
  for (const b of batches.map(Number)) {
    const n = b * 3 * Number(side) * Number(side);
    const data = new Float32Array(n);
    let s = 1;
    for (let i = 0; i < n; i++) { // a fixed pseudo-random input
      s = (s * 1103515245 + 12345) % 2147483648;
      data[i] = s / 2147483648 - 0.5;
    }
    const feeds = {[input]: new ort.Tensor('float32', data, [b, 3, Number(side), Number(side)])};
    await session.run(feeds);
    let best = Infinity;
    for (let r = 0; r < Number(repeats); r++) {
      const t = process.hrtime.bigint();
      await session.run(feeds);
      best = Math.min(best, Number(process.hrtime.bigint() - t) * 1e-9);
    }
    console.log(`onnxruntime ${model} batch ${b} threads ${threads}: ${(b / best).toFixed(2)} images/s`);
  }
}
main().catch((e) => { console.error(`ort_speed: ${e.message}`); process.exit(1); });
