"""Real networks: BlazePose heatmaps on the user's images, and capture from users' models.

- :mod:`daec_viz.realnet.blazepose`: locate MediaPipe's ``pose_landmark_full.tflite``,
  crop person boxes, run it with ``ai-edge-litert``, map its 39 channels to COCO's 17.
- :mod:`daec_viz.realnet.infer`: ``run_inference``, the (resumable) run that writes a
  dataset folder (``daec-viz infer``).
- :mod:`daec_viz.realnet.capture`: a PyTorch forward hook that feeds a
  :class:`~daec_viz.io.writer.HeatmapWriter`, and mmpose 1.x conversion helpers.

Submodules are imported explicitly (nothing heavy is imported here).
"""
