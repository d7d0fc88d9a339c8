# Flower's configuration file (`celery -A worker flower --conf=flowerconfig.py`): authenticated and read-only.
# Credentials come from the environment (FLOWER_BASIC_AUTH=user:password); see worker/flower_policy.py.
from worker.flower_policy import make_read_only, require_credentials

require_credentials()
make_read_only()
