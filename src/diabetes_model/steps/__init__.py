"""The steps of the pipeline (azureml/pipeline.yml) that are not the training itself: prep,
evaluate, register. Each is `python -m diabetes_model.steps.<step>` in an Azure ML job, and the
same module's `run` in `invoke pipeline`; the training step is `python -m diabetes_model.train`."""
