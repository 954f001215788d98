"""Azure ML: the same training as a remote job, and the workspace assets it needs."""

import logging

# azure-ai-ml announces each experimental class it meets while loading a pipeline job ("Class
# AutoDeleteSettingSchema: This is an experimental class, ..."): six lines nobody can act on.
logging.getLogger("azure.ai.ml._utils._experimental").setLevel(logging.ERROR)
