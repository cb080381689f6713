"""The losses of a training step, as an object with phases (as stylegan3's ``accumulate_gradients``).

``GANLoss.run_phase("D", terms)`` takes one discriminator step, ``run_phase("G", terms)`` one generator
step; each writes the loss terms it computed into ``terms`` (name -> tensor) for the stats.  The
regularizers and auxiliary losses are rows of a table (:data:`D_TERMS`, :data:`G_TERMS`): name, weight,
interval and function, evaluated in table order (the order of the random draws, which a resumed run
repeats exactly).  A term with an interval N > 1 is due every N steps and weighted by N; with
``lazy_adam`` it runs as a pass of its own after the main one (Karras et al. 2020, B).
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import torch
import torch.nn.functional as F

from ganstudio.training import distributed as dist_util
from ganstudio.training import losses as L
from ganstudio.training.augment import make_augmenter


class Term(NamedTuple):
    """One loss term added to a phase: ``weight * fn(batch)``, due every ``interval`` steps."""
    name: str  # the stats key
    weight: Callable  # cfg -> weight; 0 = off
    fn: Callable  # (loss, batch) -> unweighted tensor
    interval: Callable = lambda cfg: 1  # cfg -> N: due every N steps, weighted by N
    lazy: bool = False  # with cfg.lazy_adam: its own optimizer pass after the main one


class Batch(NamedTuple):
    """What the terms of one phase see."""
    real: Optional[torch.Tensor]
    fake: torch.Tensor
    labels: Optional[torch.Tensor]  # real labels (D) or the fakes' labels (G)
    fake_labels: Optional[torch.Tensor]
    c: Optional[torch.Tensor]  # the class input D saw for reals (D) or fakes (G)
    cat: Optional[torch.Tensor]
    cont: Optional[torch.Tensor]
    scores_real: Optional[torch.Tensor]
    aux_real: dict
    aux_fake: dict


D_TERMS = (
    Term("class_D", lambda c: c.aux_class, lambda s, b: L.class_loss(b.aux_real["class_logits"], b.labels)
         + L.class_loss(b.aux_fake["class_logits"], b.fake_labels)),
    Term("info_D", lambda c: c.info, lambda s, b: s.info_loss(b.aux_fake["code"], b.cat, b.cont)),
    Term("drift", lambda c: c.drift, lambda s, b: L.drift_penalty(b.scores_real)),
    Term("gp", lambda c: c.gp, lambda s, b: L.gradient_penalty(s.t.D, b.real, b.fake, b.c, generator=s.t.dev_gen)),
    Term("r1", lambda c: c.r1 / 2, lambda s, b: L.r1_penalty(s.t.D, b.real, b.c), lambda c: c.r1_every, lazy=True),
    Term("dragan", lambda c: c.dragan, lambda s, b: L.dragan_penalty(s.t.D, b.real, b.c, generator=s.t.dev_gen)),
)
G_TERMS = (
    Term("class_G", lambda c: c.aux_class, lambda s, b: L.class_loss(b.aux_fake["class_logits"], b.labels)),
    Term("info_G", lambda c: c.info, lambda s, b: s.info_loss(b.aux_fake["code"], b.cat, b.cont)),
    Term("ortho", lambda c: c.ortho, lambda s, b: L.orthogonal_reg(s.t.G)),
    Term("pl", lambda c: c.pl, lambda s, b: s.path_length_penalty(), lambda c: c.pl_every, lazy=True),
    Term("pt", lambda c: c.pt, lambda s, b: L.pulling_away(b.aux_fake["embedding"])),
)


class GANLoss:
    """The adversarial loss of a trainer's G and D, its terms, and the state they keep (pl_mean)."""

    def __init__(self, trainer):
        self.t = trainer
        self.pl_mean = torch.zeros([], device=trainer.device)  # the running mean path length a
        self._fakes = None  # the D step's fakes, kept for the G step when reuse_fakes is on
        self.k_t = torch.zeros([], device=trainer.device)  # BEGAN's control variable (k_0 = 0): training state
        self._began_real = None  # the last D step's L(x), for BEGAN's control
        # DiffAugment / ADA on every image D sees, in every phase that calls D (so every family with one).
        self.augment = make_augmenter(trainer.cfg, trainer.D is not None, trainer.device)

    # -- helpers ----------------------------------------------------------------------------
    def info_loss(self, code, cat, cont) -> torch.Tensor:
        t = self.t
        return L.info_loss(code, cat, cont, t.info_cat, t.info_cont, t.cfg.info_cont_weight)

    def generate(self, z, c) -> tuple[torch.Tensor, torch.Tensor]:
        t = self.t
        if t.style_mixing > 0:
            z2 = torch.randn(z.shape, generator=t.gen).to(t.device)
            ws = L.style_mix(t.G, z, z2, c, t.style_mixing, generator=t.gen)
        else:
            ws = t.G.mapping(z, c)
        if t.progressive:
            return t.G.synthesis_at(ws, t.stage, t.alpha), ws
        return t.G.synthesis(ws, c, **t.noise_kw), ws

    def scores(self, img, c, aux: bool):
        if aux:
            return self.t.D.forward_aux(img, c)
        return self.t.D(img, c), {}

    def autocast(self):
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=self.t.amp)

    def augmented(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` as D sees it: augmented (DiffAugment, ADA at its current p) when the config asks for it."""
        return self.augment(x, self.t.dev_gen)

    def instance_noise(self, x: torch.Tensor) -> torch.Tensor:
        t = self.t
        sigma = t.cfg.instance_noise * max(0.0, 1.0 - t.step / t.cfg.steps)
        if sigma <= 0:
            return x
        return x + sigma * torch.randn(x.shape, generator=t.dev_gen, device=t.device, dtype=x.dtype)

    def optimize(self, opt: torch.optim.Optimizer, net, loss: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        loss.backward()
        dist_util.average_gradients(net.parameters(), self.t.ctx)
        opt.step()

    def reusing(self) -> bool:
        return self.t.cfg.reuse_fakes and self.t.cfg.k_disc == 1

    def began_control(self, fake_scores: torch.Tensor, terms: dict) -> None:
        """BEGAN: k_t moves toward the equilibrium gamma; k_t and M_global join the step's terms (plotted live).
        Both losses are averaged over the processes so that every rank keeps the same k_t."""
        cfg = self.t.cfg
        loss_real = dist_util.mean_over_ranks(self._began_real, self.t.ctx)
        loss_fake = dist_util.mean_over_ranks(fake_scores.detach().float().mean(), self.t.ctx)
        terms["M_global"] = L.began_convergence(loss_real, loss_fake, cfg.began_gamma)
        self.k_t = L.began_k_update(self.k_t, loss_real, loss_fake, cfg.began_gamma, cfg.lambda_k)
        terms["k_t"] = self.k_t

    def path_length_penalty(self) -> torch.Tensor:
        """Path length regularization on a fresh half batch; updates the running mean a."""
        t = self.t
        n = max(1, t.cfg.batch // t.ctx.world_size // L.PL_BATCH_SHRINK)
        z, c, *_ = t.latents(n, t.gen)
        fake, ws = self.generate(z, c)
        lengths = L.path_lengths(fake, ws, generator=t.dev_gen)
        # Every rank moves a by the mean over all ranks, so a stays the same everywhere.
        mean = dist_util.mean_over_ranks(lengths.detach().mean(), t.ctx)
        self.pl_mean = self.pl_mean.lerp(mean, L.PL_DECAY)
        return L.path_length_penalty(lengths, self.pl_mean)

    # -- phases -----------------------------------------------------------------------------
    def run_phase(self, phase: str, terms: dict) -> None:
        """One optimizer step of ``phase``: "D" (discriminator), "G" (generator) or "VAE"."""
        {"D": self._d_phase, "G": self._g_phase, "VAE": self._vae_phase, "AAE": self._aae_phase,
         "VQ": self._vq_phase, "PRIOR": self._prior_phase}[phase](terms)

    def _add_terms(self, table, batch: Batch, counter: int, total: torch.Tensor, terms: dict):
        """The table's due terms folded into ``total``; returns (total, the lazy ones left for a pass of their own)."""
        cfg, lazy = self.t.cfg, []
        for term in table:
            weight = term.weight(cfg)
            if not weight or counter % term.interval(cfg):
                continue
            if term.lazy and cfg.lazy_adam:
                lazy.append(term)
                continue
            value = term.fn(self, batch)
            terms[term.name] = value
            total = total + weight * term.interval(cfg) * value
        return total, lazy

    def _lazy_passes(self, lazy, batch: Batch, opt, net, terms: dict) -> None:
        cfg = self.t.cfg
        for term in lazy:  # the paper's lazy pass, a step of its own
            with self.autocast():
                value = term.fn(self, batch)
            terms[term.name] = value
            self.optimize(opt, net, term.weight(cfg) * term.interval(cfg) * value)

    def _d_phase(self, terms: dict) -> None:
        t = self.t
        cfg = t.cfg
        real, labels = t.batches.next()
        real = t.prepare_real(real)
        z, c_fake, fake_labels, cat, cont = t.latents(real.shape[0], t.gen)
        c_real = F.one_hot(labels.clamp(min=0), t.G.c_dim).float() if t.G.c_dim else None
        dc_real, dc_fake = (c_real, c_fake) if t.d_cond else (None, None)
        aux = t.use_aux_class or t.use_info
        with self.autocast():
            if self.reusing():
                # Keep G's graph: the G step that follows trains on these same fakes.
                fake_g, ws = self.generate(z, c_fake)
                self._fakes = (fake_g, ws, c_fake, fake_labels, cat, cont)
                fake = fake_g.detach()
            else:
                with torch.no_grad():
                    fake, _ = self.generate(z, c_fake)
            # The regularizers below see the augmented reals too, as in both augmentation papers.
            real, fake = self.augmented(real), self.augmented(fake)
            s_real, aux_real = self.scores(self.instance_noise(real), dc_real, aux)
            s_fake, aux_fake = self.scores(self.instance_noise(fake), dc_fake, aux)
            self.augment.observe(s_real)
            loss = L.d_loss(cfg.loss, s_real, s_fake, real_target=1.0 - cfg.label_smoothing, margin=cfg.margin,
                            k=self.k_t)
            self._began_real = s_real.detach().float().mean()
            terms["loss_D"], terms["D_real"], terms["D_fake"] = loss, s_real.float().mean(), s_fake.float().mean()
            batch = Batch(real, fake, labels, fake_labels, dc_real, cat, cont, s_real, aux_real, aux_fake)
            total, lazy = self._add_terms(D_TERMS, batch, t.d_iters, loss, terms)
        self.optimize(t.opt_D, t.D, total)
        self._lazy_passes(lazy, batch, t.opt_D, t.D, terms)
        if cfg.clip:
            L.clip_weights_(t.D, cfg.clip)
        t.d_iters += 1
        if self.augment.adaptive and t.d_iters % self.augment.interval == 0:
            self.augment.adjust(cfg.batch * self.augment.interval, lambda v: dist_util.mean_over_ranks(v, t.ctx))

    def _g_phase(self, terms: dict) -> None:
        t = self.t
        cfg = t.cfg
        fakes, self._fakes = self._fakes, None
        if fakes is None:
            z, c, labels, cat, cont = t.latents(cfg.batch // t.ctx.world_size, t.gen)
        aux = t.use_aux_class or t.use_info or cfg.pt > 0  # EBGAN's pulling-away term reads D's embeddings
        t.D.requires_grad_(False)
        try:
            with self.autocast():
                if fakes is None:
                    fake, ws = self.generate(z, c)
                else:
                    fake, ws, c, labels, cat, cont = fakes
                # D sees the same noisy inputs as in its own step (Sønderby et al. 2017).
                scores, aux_out = self.scores(self.instance_noise(self.augmented(fake)), c if t.d_cond else None, aux)
                loss = L.g_loss(cfg.loss, scores)
                terms["loss_G"] = loss
                if cfg.loss == "began":
                    self.began_control(scores, terms)
                batch = Batch(None, fake, labels, None, c, cat, cont, None, {}, aux_out)
                total, lazy = self._add_terms(G_TERMS, batch, t.step, loss, terms)
            self.optimize(t.opt_G, t.G, total)
            self._lazy_passes(lazy, batch, t.opt_G, t.G, terms)
        finally:
            t.D.requires_grad_(True)
        if t.caps.truncation == "w":
            t.G.update_w_avg(ws[:, 0].detach())  # with the model's own beta (w_avg_beta is folded in)

    def _vae_phase(self, terms: dict) -> None:
        t = self.t
        real, _ = t.batches.next()
        with self.autocast():
            mu, logvar = t.G.encode(real)
            z = t.G.reparameterize(mu, logvar, generator=t.dev_gen)
            recon = t.G(z, None)
            loss, rec, kl = L.vae_loss(recon, real, mu, logvar, t.cfg.vae_beta)
        terms["loss_vae"], terms["vae_recon"], terms["vae_kl"] = loss, rec, kl
        self.optimize(t.opt_G, t.G, loss)

    def _vq_phase(self, terms: dict) -> None:
        """VQ-VAE stage 1 (van den Oord et al. 2017, eq. 3): reconstruction + commitment (+ the codebook loss
        when the codebook does not learn by EMA); the EMA update and code restarts run inside the forward."""
        t = self.t
        real, _ = t.batches.next()
        with self.autocast():
            out = t.G.vq_losses(real, generator=t.dev_gen)
            loss = out.rec + t.cfg.vq_beta * out.commit + out.codebook
        terms["loss_vq"], terms["vq_recon"], terms["vq_commit"] = loss, out.rec, out.commit
        terms["vq_perplexity"] = out.perplexity
        if t.G.codebook.update == "loss":
            terms["vq_codebook"] = out.codebook
        self.optimize(t.opt_G, t.G, loss)

    def _prior_phase(self, terms: dict) -> None:
        """VQ-VAE stage 2: the PixelCNN prior learns the codes of real images under the frozen stage-1 model
        (only the prior's parameters get gradients; Adam leaves the others, which have none, alone)."""
        t = self.t
        real, _ = t.batches.next()
        with torch.no_grad():
            codes = t.G.encode_codes(real)
        with self.autocast():
            nll = t.G.prior.loss(codes)  # nats per cell
        terms["prior_nll"] = nll
        self.optimize(t.opt_G, t.G, nll)

    def _aae_phase(self, terms: dict) -> None:
        """The adversarial autoencoder (Makhzani et al. 2016, sec. 2) on one batch: the reconstruction phase
        (encoder and decoder), then the regularization phase: D tells prior samples (real) from the
        encoder's codes (fake), then the encoder learns to fool D.  The encoder's step leaves the decoder's
        gradients unset, so Adam leaves the decoder alone."""
        t, cfg = self.t, self.t.cfg
        real, _ = t.batches.next()
        with self.autocast():
            rec = F.mse_loss(t.G(t.G.code(real), None).float(), real.float())
        self.optimize(t.opt_G, t.G, rec)
        prior = t.G.sample_prior(real.shape[0], generator=t.dev_gen, device=t.device)
        with self.autocast():
            s_prior, s_code = t.D(prior), t.D(t.G.code(real).detach())
            loss_d = L.d_loss(cfg.loss, s_prior, s_code, real_target=1.0 - cfg.label_smoothing)
        self.optimize(t.opt_D, t.D, loss_d)
        t.d_iters += 1
        t.D.requires_grad_(False)
        try:
            with self.autocast():
                loss_g = L.g_loss(cfg.loss, t.D(t.G.code(real)))
            self.optimize(t.opt_G, t.G, loss_g)
        finally:
            t.D.requires_grad_(True)
        terms.update(aae_recon=rec, loss_D=loss_d, loss_G=loss_g, D_real=s_prior.float().mean(),
                     D_fake=s_code.float().mean())
