"""Analysis: body pose and face landmarks (MediaPipe), voice features (WORLD), filters, review flags.
Qt-free; long runs are jobs. (Pose and face: issue 3; voice: issue 6.)"""
