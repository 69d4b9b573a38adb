"""Real networks: BlazePose heatmaps on the user's images, and capture from users' models.

- :mod:`daec_viz.realnet.blazepose`: locate MediaPipe's ``pose_landmark_full.tflite``,
  crop person boxes, run it with ``ai-edge-litert``, map its 39 channels to COCO's 17.
- :mod:`daec_viz.realnet.heatmap_model`: any exported top-down heatmap model (``.onnx``
  with onnxruntime, ``.tflite`` with ai-edge-litert) and its options (``TopDownOptions``).
- :mod:`daec_viz.realnet.keypoint_map`: ``--keypoint-map`` / ``--flip-pairs`` files and
  the one rule for scoring a model with another keypoint set.
- :mod:`daec_viz.realnet.runners`: BlazePose or a model file behind one interface (crop
  geometry, flip test, what the cache records); :mod:`daec_viz.realnet.crops`: the crop
  sampler.
- :mod:`daec_viz.realnet.infer`: ``run_inference``, the (resumable) run that writes a
  dataset folder (``daec-viz infer``; the folder rules in ``output_folder``).
- :mod:`daec_viz.realnet.capture`: a PyTorch forward hook that feeds a
  :class:`~daec_viz.io.writer.HeatmapWriter`, and mmpose 1.x conversion helpers.

Submodules are imported explicitly (nothing heavy is imported here).
"""
