import torch

torch.set_num_threads(1)  # tiny models: extra threads only fight over a shared CPU
