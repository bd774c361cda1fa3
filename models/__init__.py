"""accelsim.models: GAN generator definitions (torch), their training scripts and small shipped
weights. Installed as ``accelsim.models`` (setup.py ``package_dir``). Importing this package does
not import torch; the model modules do, on demand."""
