# Small region-wise contrastive network (862,776 parameters: ResUNet width 6, depth 5, 2 units, S2AM at all four
# decoder levels) with AdaIN on the decoder's own background statistics at every decoder level, trained as the
# paper trains
# (0.4 L1 + 0.5 L_pixel + 0.1 L_HCL, AdamW 1e-3) on the Lalonde & Efros composites: 1,500 iterations of batch 8 at
# 256 px (measured: 56 min on one thread of 2 CPU cores beside another run), cosine decay. With its two siblings
# it repeats the paper's Fig. 8-9 comparison (style fusion vs RAIN vs AdaIN) at zoo scale.
_base_ = ['./clharmony-s_stylefusion-s2am_adamw-1500i_lalonde-efros-256.py']
model = dict(fusion=dict(type='AdaIN', style='decoder-background'))  # the one line that differs
