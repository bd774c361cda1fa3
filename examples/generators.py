"""Reference GAN / super-resolution generators used as accelsim workloads.

Every network below is re-implemented from its paper's description; the
defaults of each class are the paper configuration and every class is
parametric in width and depth so that the ``*_tiny`` factories build small
versions of the very same classes.

* ``CycleGANResnet9`` -- J.-Y. Zhu, T. Park, P. Isola, A. A. Efros (2017),
  "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
  Networks"; generator from J. Johnson, A. Alahi, L. Fei-Fei (2016),
  "Perceptual Losses for Real-Time Style Transfer and Super-Resolution".
  c7s1-64, d128, d256, 9 x R256, u128, u64, c7s1-3; InstanceNorm (no affine),
  reflection padding, biased convs.  11,378,179 parameters.
* ``UnetGenerator`` / ``UnetGenerator256`` -- P. Isola, J.-Y. Zhu, T. Zhou,
  A. A. Efros (2017), "Image-to-Image Translation with Conditional Adversarial
  Networks" (pix2pix).  U-Net with 8 levels of 4x4 stride-2 convs, ngf=64,
  BatchNorm, LeakyReLU(0.2) down / ReLU up, Dropout(0.5) in three inner up
  blocks, skip connections by concatenation.  54,413,955 parameters.
* ``SRResNet`` -- C. Ledig et al. (2017), "Photo-Realistic Single Image
  Super-Resolution Using a Generative Adversarial Network" (SRGAN).  x4
  generator: 9x9 conv + PReLU, 16 residual blocks (conv-BN-PReLU-conv-BN),
  conv-BN + global skip, two conv + PixelShuffle(2) + PReLU blocks, 9x9 conv.
* ``ESRGAN_RRDB`` -- X. Wang et al. (2018), "ESRGAN: Enhanced
  Super-Resolution Generative Adversarial Networks".  RRDBNet x4: nf=64,
  gc=32, 23 residual-in-residual dense blocks (residual scaling 0.2), nearest
  upsampling + conv twice.  16,697,987 parameters.
* ``DCGAN_Generator`` -- A. Radford, L. Metz, S. Chintala (2016),
  "Unsupervised Representation Learning with Deep Convolutional Generative
  Adversarial Networks", written the way the pytorch/examples DCGAN script
  writes it (including the ``ngpu`` data-parallel branch in ``forward``,
  which makes ``torch.fx.symbolic_trace`` fail).  nz=100, ngf=64, 3x64x64.
* ``ConditionalDCGAN`` -- a conditional DCGAN (M. Mirza, S. Osindero (2014),
  "Conditional Generative Adversarial Nets" applied to the DCGAN generator):
  label embedding concatenated with the noise, 1x32x32 output.

The zero-argument factories at the bottom return ``(module, example_inputs)``
with deterministic weights, eval() mode, batch 1 and randomised BatchNorm
statistics / affine parameters (so that BN folding is really exercised).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


# --------------------------------------------------------------------------
# CycleGAN ResNet generator
# --------------------------------------------------------------------------
class ResnetBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=True),
            nn.InstanceNorm2d(dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=True),
            nn.InstanceNorm2d(dim))

    def forward(self, x):
        return x + self.conv_block(x)


class CycleGANResnet9(nn.Module):
    def __init__(self, input_nc=3, output_nc=3, ngf=64, n_blocks=9):
        super().__init__()
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7, bias=True),
                  nn.InstanceNorm2d(ngf), nn.ReLU(True)]
        ch = ngf
        for _ in range(2):                      # downsampling
            layers += [nn.Conv2d(ch, ch * 2, 3, stride=2, padding=1, bias=True),
                       nn.InstanceNorm2d(ch * 2), nn.ReLU(True)]
            ch *= 2
        layers += [ResnetBlock(ch) for _ in range(n_blocks)]
        for _ in range(2):                      # upsampling
            layers += [nn.ConvTranspose2d(ch, ch // 2, 3, stride=2, padding=1,
                                          output_padding=1, bias=True),
                       nn.InstanceNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, output_nc, 7, bias=True),
                   nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


# --------------------------------------------------------------------------
# pix2pix U-Net
# --------------------------------------------------------------------------
class UnetSkipBlock(nn.Module):
    """One U-Net level: down(x) -> submodule -> up, output cat([x, up])."""

    def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None,
                 outermost=False, innermost=False, use_dropout=False):
        super().__init__()
        self.outermost = outermost
        if input_nc is None:
            input_nc = outer_nc
        downconv = nn.Conv2d(input_nc, inner_nc, 4, stride=2, padding=1, bias=False)
        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2,
                                        padding=1, bias=True)
            layers = [downconv, submodule, nn.ReLU(True), upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, 4, stride=2,
                                        padding=1, bias=False)
            layers = [nn.LeakyReLU(0.2, True), downconv,
                      nn.ReLU(True), upconv, nn.BatchNorm2d(outer_nc)]
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2,
                                        padding=1, bias=False)
            layers = [nn.LeakyReLU(0.2, True), downconv, nn.BatchNorm2d(inner_nc),
                      submodule,
                      nn.ReLU(True), upconv, nn.BatchNorm2d(outer_nc)]
            if use_dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    def __init__(self, input_nc=3, output_nc=3, num_downs=8, ngf=64):
        super().__init__()
        assert num_downs >= 5
        block = UnetSkipBlock(ngf * 8, ngf * 8, innermost=True)
        for _ in range(num_downs - 5):
            block = UnetSkipBlock(ngf * 8, ngf * 8, submodule=block, use_dropout=True)
        block = UnetSkipBlock(ngf * 4, ngf * 8, submodule=block)
        block = UnetSkipBlock(ngf * 2, ngf * 4, submodule=block)
        block = UnetSkipBlock(ngf, ngf * 2, submodule=block)
        self.model = UnetSkipBlock(output_nc, ngf, input_nc=input_nc,
                                   submodule=block, outermost=True)

    def forward(self, x):
        return self.model(x)


class UnetGenerator256(UnetGenerator):
    def __init__(self):
        super().__init__(3, 3, num_downs=8, ngf=64)


# --------------------------------------------------------------------------
# SRResNet (SRGAN generator)
# --------------------------------------------------------------------------
class SRResidualBlock(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(ch, ch, 3, padding=1, bias=False), nn.BatchNorm2d(ch),
            nn.PReLU(),
            nn.Conv2d(ch, ch, 3, padding=1, bias=False), nn.BatchNorm2d(ch))

    def forward(self, x):
        return x + self.body(x)


class SRResNet(nn.Module):
    def __init__(self, in_nc=3, out_nc=3, nf=64, n_blocks=16, scale=4):
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(in_nc, nf, 9, padding=4), nn.PReLU())
        self.body = nn.Sequential(*[SRResidualBlock(nf) for _ in range(n_blocks)])
        self.body_tail = nn.Sequential(nn.Conv2d(nf, nf, 3, padding=1, bias=False),
                                       nn.BatchNorm2d(nf))
        ups = []
        for _ in range(scale // 2):             # scale 4 -> two x2 blocks
            ups += [nn.Conv2d(nf, nf * 4, 3, padding=1), nn.PixelShuffle(2),
                    nn.PReLU()]
        self.upsample = nn.Sequential(*ups)
        self.tail = nn.Conv2d(nf, out_nc, 9, padding=4)

    def forward(self, x):
        feat = self.head(x)
        out = feat + self.body_tail(self.body(feat))
        return self.tail(self.upsample(out))


# --------------------------------------------------------------------------
# ESRGAN RRDBNet
# --------------------------------------------------------------------------
class ResidualDenseBlock(nn.Module):
    def __init__(self, nf=64, gc=32):
        super().__init__()
        self.conv1 = nn.Conv2d(nf, gc, 3, 1, 1)
        self.conv2 = nn.Conv2d(nf + gc, gc, 3, 1, 1)
        self.conv3 = nn.Conv2d(nf + 2 * gc, gc, 3, 1, 1)
        self.conv4 = nn.Conv2d(nf + 3 * gc, gc, 3, 1, 1)
        self.conv5 = nn.Conv2d(nf + 4 * gc, nf, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, True)

    def forward(self, x):
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class RRDB(nn.Module):
    def __init__(self, nf=64, gc=32):
        super().__init__()
        self.rdb1 = ResidualDenseBlock(nf, gc)
        self.rdb2 = ResidualDenseBlock(nf, gc)
        self.rdb3 = ResidualDenseBlock(nf, gc)

    def forward(self, x):
        out = self.rdb3(self.rdb2(self.rdb1(x)))
        return out * 0.2 + x


class ESRGAN_RRDB(nn.Module):
    def __init__(self, in_nc=3, out_nc=3, nf=64, nb=23, gc=32):
        super().__init__()
        self.conv_first = nn.Conv2d(in_nc, nf, 3, 1, 1)
        self.trunk = nn.Sequential(*[RRDB(nf, gc) for _ in range(nb)])
        self.trunk_conv = nn.Conv2d(nf, nf, 3, 1, 1)
        self.upconv1 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.upconv2 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.hr_conv = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_last = nn.Conv2d(nf, out_nc, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, True)

    def forward(self, x):
        fea = self.conv_first(x)
        fea = fea + self.trunk_conv(self.trunk(fea))
        fea = self.lrelu(self.upconv1(F.interpolate(fea, scale_factor=2, mode='nearest')))
        fea = self.lrelu(self.upconv2(F.interpolate(fea, scale_factor=2, mode='nearest')))
        return self.conv_last(self.lrelu(self.hr_conv(fea)))


# --------------------------------------------------------------------------
# DCGAN (pytorch/examples style) and a conditional DCGAN
# --------------------------------------------------------------------------
class DCGAN_Generator(nn.Module):
    def __init__(self, ngpu=1, nz=100, ngf=64, nc=3):
        super().__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            # nz x 1 x 1 -> (ngf*8) x 4 x 4
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
            # -> (ngf*4) x 8 x 8
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            # -> (ngf*2) x 16 x 16
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            # -> ngf x 32 x 32
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf), nn.ReLU(True),
            # -> nc x 64 x 64
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh())

    def forward(self, input):
        if input.is_cuda and self.ngpu > 1:
            output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))
        else:
            output = self.main(input)
        return output


class ConditionalDCGAN(nn.Module):
    def __init__(self, nz=64, n_classes=10, embed_dim=10, ngf=32, nc=1):
        super().__init__()
        self.label_emb = nn.Embedding(n_classes, embed_dim)
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz + embed_dim, ngf * 4, 4, 1, 0, bias=False),  # 4x4
            nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),         # 8x8
            nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),             # 16x16
            nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),                  # 32x32
            nn.Tanh())

    def forward(self, noise, labels):
        x = torch.cat([noise, self.label_emb(labels)], 1)
        return self.main(x.view(x.size(0), -1, 1, 1))


# --------------------------------------------------------------------------
# Factories: (module, example_inputs), deterministic, eval mode, batch 1
# --------------------------------------------------------------------------
def _randomize_bn(module):
    """Give every BatchNorm non-trivial running stats and affine parameters."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n) * 0.1)
                m.running_var.copy_(torch.rand(n) * 0.5 + 0.75)
                m.weight.copy_(torch.rand(n) * 0.5 + 0.75)
                m.bias.copy_(torch.randn(n) * 0.1)
    return module


def _build(cls, *shape, **kwargs):
    torch.manual_seed(0)
    model = _randomize_bn(cls(**kwargs)).eval()
    return model, torch.randn(*shape)


def cyclegan():
    return _build(CycleGANResnet9, 1, 3, 256, 256)


def cyclegan_tiny():
    return _build(CycleGANResnet9, 1, 3, 32, 32, ngf=8, n_blocks=2)


def pix2pix():
    return _build(UnetGenerator256, 1, 3, 256, 256)


def pix2pix_tiny():
    return _build(UnetGenerator, 1, 3, 32, 32, num_downs=5, ngf=8)


def srresnet():
    return _build(SRResNet, 1, 3, 32, 32)


def srresnet_tiny():
    return _build(SRResNet, 1, 3, 16, 16, nf=16, n_blocks=4)


def esrgan():
    return _build(ESRGAN_RRDB, 1, 3, 32, 32)


def esrgan_tiny():
    return _build(ESRGAN_RRDB, 1, 3, 16, 16, nf=16, gc=8, nb=2)


def dcgan():
    return _build(DCGAN_Generator, 1, 100, 1, 1)


def dcgan_tiny():
    return _build(DCGAN_Generator, 1, 16, 1, 1, nz=16, ngf=8)


def cdcgan():
    model, noise = _build(ConditionalDCGAN, 1, 64)
    return model, (noise, torch.tensor([3]))


FACTORIES = {f.__name__: f for f in (
    cyclegan, cyclegan_tiny, pix2pix, pix2pix_tiny, srresnet, srresnet_tiny,
    esrgan, esrgan_tiny, dcgan, dcgan_tiny, cdcgan)}
