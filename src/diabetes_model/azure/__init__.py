"""Azure ML: the same training as a remote job, and the workspace assets it needs."""
