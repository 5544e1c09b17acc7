#!/usr/bin/python3
"""Runs a .tflite SSD on raw images with Arm NN (TfLiteParser, CpuRef backend): a reference
TFLite runtime for test/model/tflite/reference.test.ts.

usage: tflite-reference.py MODEL.tflite IMAGE.rgb [IMAGE.rgb ...]

Each IMAGE.rgb holds the model's input exactly: H*W*3 bytes, RGB, row-major, the uint8 pixels
ssdpipe fed its own engines, so that only the runtimes differ. Prints one JSON object:
  {"runtime": "...", "images": [{"count": n, "boxes": [[ymin, xmin, ymax, xmax], ...],
                                  "classes": [...], "scores": [...]}, ...]}
with the outputs of TFLite_Detection_PostProcess (classes are label-map line numbers).
Exit code 3 when pyarmnn is not installed (the test skips then).
"""
import json
import sys

try:
    import numpy as np
    import pyarmnn as ann
except ImportError as err:  # the test reads exit code 3 as "skip"
    print(f"pyarmnn not available: {err}", file=sys.stderr)
    sys.exit(3)


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    model, images = argv[1], argv[2:]
    parser = ann.ITfLiteParser()
    network = parser.CreateNetworkFromBinaryFile(model)
    graph = 0
    input_name = parser.GetSubgraphInputTensorNames(graph)[0]
    input_info = parser.GetNetworkInputBindingInfo(graph, input_name)
    output_names = parser.GetSubgraphOutputTensorNames(graph)
    output_infos = [parser.GetNetworkOutputBindingInfo(graph, n) for n in output_names]

    runtime = ann.IRuntime(ann.CreationOptions())
    optimized, _ = ann.Optimize(network, [ann.BackendId("CpuRef")], runtime.GetDeviceSpec(), ann.OptimizerOptions())
    net_id, _ = runtime.LoadNetwork(optimized)

    shape = input_info[1].GetShape()
    size = 1
    for d in range(shape.GetNumDimensions()):
        size *= shape[d]
    results = []
    for path in images:
        with open(path, "rb") as f:
            pixels = np.frombuffer(f.read(), dtype=np.uint8)
        if pixels.size != size:
            print(f"{path}: {pixels.size} bytes, the model input needs {size}", file=sys.stderr)
            return 2
        inputs = ann.make_input_tensors([input_info], [pixels])
        outputs = ann.make_output_tensors(output_infos)
        runtime.EnqueueWorkload(net_id, inputs, outputs)
        boxes, classes, scores, count = [np.asarray(a).reshape(-1) for a in ann.workload_tensors_to_ndarray(outputs)]
        n = int(count[0])
        results.append({
            "count": n,
            "boxes": boxes.reshape(-1, 4)[:n].tolist(),
            "classes": [int(c) for c in classes[:n]],
            "scores": scores[:n].tolist(),
        })
    print(json.dumps({"runtime": "Arm NN TfLiteParser, CpuRef backend", "images": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
