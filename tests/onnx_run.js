// Runs ONNX models in onnxruntime (npm's onnxruntime-node, its CPU runtime) for
// tests/onnx_test.py, one process for every model of a test.
//
//   node tests/onnx_run.js ORT_DIR JOBS.json
//
// ORT_DIR holds node_modules/onnxruntime-node. JOBS.json is a list of
// {"model": path, "x": path, "rows": n, "cols": d, "dtype": "float32"|"float64", "out": path}:
// x and out are the raw little-endian elements of row-major matrices. out gets the model's
// output "y"; its shape is printed, one line per job: "out rows cols".
"use strict";
const fs = require("fs");
const path = require("path");

async function main() {
  const [ortDir, jobsPath] = process.argv.slice(2);
  const ort = require(path.join(path.resolve(ortDir), "node_modules", "onnxruntime-node"));
  const jobs = JSON.parse(fs.readFileSync(jobsPath, "utf8"));
  for (const job of jobs) {
    const bytes = fs.readFileSync(job.x);
    const Array_ = job.dtype === "float64" ? Float64Array : Float32Array;
    const data = new Array_(bytes.buffer, bytes.byteOffset, bytes.length / Array_.BYTES_PER_ELEMENT);
    const session = await ort.InferenceSession.create(job.model);
    const result = await session.run({x: new ort.Tensor(job.dtype, data, [job.rows, job.cols])});
    const y = result.y;
    if (y.type !== job.dtype) throw new Error(`${job.model}: y is ${y.type}, expected ${job.dtype}`);
    fs.writeFileSync(job.out, Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
    console.log(`${job.out} ${y.dims.join(" ")}`);
  }
  console.log(`onnxruntime ${ort.env.versions.common}`);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
