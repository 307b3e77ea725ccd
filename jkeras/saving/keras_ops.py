"""How Keras 3 records each op in a saved graph, so that jkeras's graphs of ops
exchange with Keras 3 (`.keras` files, `model.get_config()`).

Keras 3 records an op call as an instance of an op class (module
`keras.src.ops.<numpy|nn|core|math|linalg|image|einops>`, class name such as
`Einsum`, `GetItem`, `LayerNorm`): the class's constructor arguments are written in
the op's config, its call arguments (the tensors, mostly) in the graph node. A jkeras
graph node holds the function's whole call instead, so saving splits it
(`split_call`) and loading joins it back (`join_call`).

`_TABLE` lists, for each Keras 3.15 op function: the module, the class, then the
function's parameters in order, call arguments marked `@` (`*`/`**`: variadic);
parameters of the class that the function only takes through `**kwargs` come last,
with Keras's default (`name=default`).
Continuation lines are indented.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
from dataclasses import dataclass

# jkeras op names that are other names of a Keras op function
_ALIASES = {"getitem": "get_item", "abs": "absolute", "conj": "conjugate"}

_TABLE = """
absolute numpy Absolute @x
adaptive_average_pool nn AdaptiveAveragePool @inputs output_size data_format
adaptive_max_pool nn AdaptiveMaxPool @inputs output_size data_format
add numpy Add @x1 @x2
affine_transform image AffineTransform @images @transform interpolation fill_mode fill_value
    data_format
all numpy All @x axis keepdims
allclose numpy AllClose @x1 @x2 rtol atol equal_nan
amax numpy Amax @x axis keepdims
amin numpy Amin @x axis keepdims
angle numpy Angle @x
any numpy Any @x axis keepdims
append numpy Append @x1 @x2 axis
arange numpy Arange @start @stop @step dtype
arccos numpy Arccos @x
arccosh numpy Arccosh @x
arcsin numpy Arcsin @x
arcsinh numpy Arcsinh @x
arctan numpy Arctan @x
arctan2 numpy Arctan2 @x1 @x2
arctanh numpy Arctanh @x
argmax numpy Argmax @x axis keepdims
argmin numpy Argmin @x axis keepdims
argpartition numpy Argpartition @x kth axis
argsort numpy Argsort @x axis
array numpy Array @x dtype
array_split numpy ArraySplit @x indices_or_sections axis
associative_scan core AssociativeScan @f @elems reverse axis
average numpy Average @x axis @weights
average_pool nn AveragePool @inputs pool_size strides padding data_format
batch_normalization nn BatchNorm @x @mean @variance axis @offset @scale epsilon
binary_crossentropy nn BinaryCrossentropy @target @output from_logits
bincount numpy Bincount @x weights minlength sparse
bitwise_and numpy BitwiseAnd @x @y
bitwise_invert numpy BitwiseInvert @x
bitwise_left_shift numpy BitwiseLeftShift @x @y
bitwise_not numpy BitwiseNot @x
bitwise_or numpy BitwiseOr @x @y
bitwise_right_shift numpy BitwiseRightShift @x @y
bitwise_xor numpy BitwiseXor @x @y
broadcast_to numpy BroadcastTo @x shape
cast core Cast @x dtype
categorical_crossentropy nn CategoricalCrossentropy @target @output from_logits axis
cbrt numpy Cbrt @x
cdist math CDist @x @y
ceil numpy Ceil @x
celu nn Celu @x alpha
cholesky linalg Cholesky @x upper
cholesky_inverse linalg CholeskyInverse @x upper
clip numpy Clip @x x_min x_max
concatenate numpy Concatenate @xs axis
cond core Cond @pred @true_fn @false_fn
conjugate numpy Conjugate @x
conv nn Conv @inputs @kernel strides padding data_format dilation_rate
conv_transpose nn ConvTranspose @inputs @kernel strides padding output_padding data_format
    dilation_rate
convert_to_tensor core ConvertToTensor @x dtype sparse ragged
copy numpy Copy @x
corrcoef numpy Corrcoef @x
correlate numpy Correlate @x1 @x2 mode
cos numpy Cos @x
cosh numpy Cosh @x
count_nonzero numpy CountNonzero @x axis
crop_images image CropImages @images top_cropping left_cropping bottom_cropping right_cropping
    target_height target_width data_format
cross numpy Cross @x1 @x2 axisa axisb axisc axis
ctc_decode nn CTCDecode @inputs @sequence_lengths strategy beam_width top_paths merge_repeated
    mask_index
ctc_loss nn CTCLoss @target @output @target_length @output_length mask_index
cumprod numpy Cumprod @x axis dtype
cumsum numpy Cumsum @x axis dtype
deg2rad numpy Deg2rad @x
depth_to_space nn DepthToSpace @x block_size data_format
depthwise_conv nn DepthwiseConv @inputs @kernel strides padding data_format dilation_rate
det linalg Det @x
diag numpy Diag @x k
diagflat numpy Diagflat @x k
diagonal numpy Diagonal @x offset axis1 axis2
diff numpy Diff @a n axis
digitize numpy Digitize @x @bins
divide numpy Divide @x1 @x2
divide_no_nan numpy DivideNoNan @x1 @x2
dot numpy Dot @x1 @x2
dot_product_attention nn DotProductAttention @query @key @value @bias @mask @scale is_causal
    flash_attention attn_logits_soft_cap
dsplit numpy Dsplit @x indices_or_sections
dstack numpy Dstack @xs
eig linalg Eig @x
eigh linalg Eigh @x
einsum numpy Einsum subscripts *@operands **@kwargs
elastic_transform image ElasticTransform @images alpha sigma interpolation fill_mode fill_value
    seed data_format
elu nn Elu @x alpha
empty_like numpy EmptyLike @x dtype
equal numpy Equal @x1 @x2
erf math Erf @x
erfc math Erfc @x
erfinv math Erfinv @x
exp numpy Exp @x
exp2 numpy Exp2 @x
expand_dims numpy ExpandDims @x axis
expm1 numpy Expm1 @x
extract_patches image ExtractPatches @images size strides dilation_rate padding data_format
extract_patches_3d image ExtractPatches @volumes size strides dilation_rate padding data_format
extract_sequences math ExtractSequences @x sequence_length sequence_stride
fabs numpy Fabs @x
fft math FFT @x
fft2 math FFT2 @x
flip numpy Flip @x axis
fliplr numpy Fliplr @x
flipud numpy Flipud @x
floor numpy Floor @x
floor_divide numpy FloorDivide @x1 @x2
fmax numpy Fmax @x1 @x2
fmin numpy Fmin @x1 @x2
fmod numpy Fmod @x1 @x2
fold nn Fold @x output_size kernel_size dilation padding stride
fori_loop core ForiLoop lower upper body_fun @init_val
full numpy Full shape @fill_value dtype
full_like numpy FullLike @x @fill_value dtype
gaussian_blur image GaussianBlur @images kernel_size sigma data_format
gcd numpy Gcd @x1 @x2
gelu nn Gelu @x approximate
geomspace numpy Geomspace @start @stop num endpoint dtype axis
get_item numpy GetItem @x @key
glu nn Glu @x axis
greater numpy Greater @x1 @x2
greater_equal numpy GreaterEqual @x1 @x2
hard_shrink nn HardShrink @x threshold
hard_sigmoid nn HardSigmoid @x
hard_silu nn HardSilu @x
hard_swish nn HardSilu @x
hard_tanh nn HardTanh @x
heaviside numpy Heaviside @x1 @x2
histogram numpy Histogram @x bins range
hsplit numpy Hsplit @x indices_or_sections
hstack numpy Hstack @xs
hsv_to_rgb image HSVToRGB @images data_format
hypot numpy Hypot @x1 @x2
i0 numpy I0 @x
ifft2 math IFFT2 @x
imag numpy Imag @x
in_top_k math InTopK @targets @predictions k
inner numpy Inner @x1 @x2
inv linalg Inv @x
irfft math IRFFT @x fft_length
isclose numpy Isclose @x1 @x2 @rtol @atol equal_nan
isfinite numpy Isfinite @x
isin numpy IsIn @x1 @x2 assume_unique invert
isinf numpy Isinf @x
isnan numpy Isnan @x
isneginf numpy Isneginf @x
isposinf numpy Isposinf @x
isreal numpy Isreal @x
istft math ISTFT @x sequence_length sequence_stride fft_length length window center
jvp linalg JVP @fun @primals @tangents has_aux
kron numpy Kron @x1 @x2
layer_normalization nn LayerNorm @x @gamma @beta axis epsilon **kwargs rms_scaling=False
lcm numpy Lcm @x1 @x2
ldexp numpy Ldexp @x1 @x2
leaky_relu nn LeakyRelu @x negative_slope
left_shift numpy LeftShift @x @y
less numpy Less @x1 @x2
less_equal numpy LessEqual @x1 @x2
linspace numpy Linspace @start @stop num endpoint retstep dtype axis
log numpy Log @x
log10 numpy Log10 @x
log1p numpy Log1p @x
log2 numpy Log2 @x
log_sigmoid nn LogSigmoid @x
log_softmax nn LogSoftmax @x axis
logaddexp numpy Logaddexp @x1 @x2
logaddexp2 numpy Logaddexp2 @x1 @x2
logdet math Logdet @x
logical_and numpy LogicalAnd @x1 @x2
logical_not numpy LogicalNot @x
logical_or numpy LogicalOr @x1 @x2
logical_xor numpy LogicalXor @x1 @x2
logspace numpy Logspace @start @stop num endpoint base dtype axis
logsumexp math Logsumexp @x axis keepdims
lstsq linalg Lstsq @a @b rcond
lu_factor linalg LuFactor @x
map core Map @f @xs
map_coordinates image MapCoordinates @inputs @coordinates order fill_mode fill_value
matmul numpy Matmul @x1 @x2
matrix_rank linalg MatrixRank @x tol
max numpy Max @x axis keepdims initial
max_pool nn MaxPool @inputs pool_size strides padding data_format
maximum numpy Maximum @x1 @x2
mean numpy Mean @x axis keepdims
median numpy Median @x axis keepdims
meshgrid numpy Meshgrid *@x indexing
min numpy Min @x axis keepdims initial
minimum numpy Minimum @x1 @x2
mod numpy Mod @x1 @x2
moments nn Moments @x axes keepdims synchronized
moveaxis numpy Moveaxis @x source destination
multi_hot nn MultiHot @inputs num_classes axis dtype sparse **kwargs
multiply numpy Multiply @x1 @x2
nan_to_num numpy NanToNum @x nan posinf neginf
nanargmax numpy Nanargmax @x axis keepdims
nanargmin numpy Nanargmin @x axis keepdims
nancumprod numpy Nancumprod @x axis dtype
nancumsum numpy Nancumsum @x axis dtype
nanmax numpy Nanmax @x axis keepdims
nanmean numpy Nanmean @x axis keepdims
nanmedian numpy Nanmedian @x axis keepdims
nanmin numpy Nanmin @x axis keepdims
nanpercentile numpy Nanpercentile @x @q axis method keepdims
nanprod numpy Nanprod @x axis keepdims
nanquantile numpy Nanquantile @x @q axis method keepdims
nanstd numpy Nanstd @x axis keepdims
nansum numpy Nansum @x axis keepdims
nanvar numpy Nanvar @x axis keepdims
ndim numpy Ndim @x
negative numpy Negative @x
nextafter numpy Nextafter @x1 @x2
nonzero numpy Nonzero @x
norm linalg Norm @x ord axis keepdims
normalize nn Normalize @x axis order epsilon
not_equal numpy NotEqual @x1 @x2
one_hot nn OneHot @x num_classes axis dtype sparse
ones_like numpy OnesLike @x dtype
outer numpy Outer @x1 @x2
pad numpy Pad @x pad_width mode @constant_values
pad_images image PadImages @images top_padding left_padding bottom_padding right_padding
    target_height target_width data_format
percentile numpy Percentile @x @q axis method keepdims
perspective_transform image PerspectiveTransform @images @start_points @end_points
    interpolation fill_value data_format
pinv linalg Pinv @x rcond
polar nn Polar @abs_ @angle
power numpy Power @x1 @x2
prod numpy Prod @x axis keepdims dtype
psnr nn PSNR @x1 @x2 max_val
ptp numpy Ptp @x axis keepdims
qr linalg Qr @x mode
quantile numpy Quantile @x @q axis method keepdims
rad2deg numpy Rad2deg @x
ravel numpy Ravel @x
real numpy Real @x
rearrange einops Rearrange @tensor @pattern **@axes_lengths
reciprocal numpy Reciprocal @x
relu nn Relu @x
relu6 nn Relu6 @x
repeat numpy Repeat @x repeats axis
reshape numpy Reshape @x newshape
resize image Resize @images size interpolation antialias crop_to_aspect_ratio
    pad_to_aspect_ratio fill_mode fill_value data_format
rfft math RFFT @x fft_length
rgb_to_grayscale image RGBToGrayscale @images data_format
rgb_to_hsv image RGBToHSV @images data_format
right_shift numpy RightShift @x @y
rms_normalization nn RMSNorm @x @scale axis epsilon
roll numpy Roll @x shift axis
rot90 numpy Rot90 @array k axes
round numpy Round @x decimals
rsqrt math Rsqrt @x
saturate_cast core SaturateCast @x dtype
scale_and_translate image ScaleAndTranslate @images @output_shape @scale @translation
    spatial_dims method antialias
scan core Scan @f @init @xs length reverse unroll
scatter core Scatter @indices @values shape
scatter_update core ScatterUpdate @inputs @indices @updates reduction
searchsorted numpy SearchSorted @sorted_sequence @values side
segment_max math SegmentMax @data @segment_ids num_segments sorted
segment_min math SegmentMin @data @segment_ids num_segments sorted
segment_prod math SegmentProd @data @segment_ids num_segments sorted
segment_sum math SegmentSum @data @segment_ids num_segments sorted
select numpy Select @condlist @choicelist @default
selu nn Selu @x
separable_conv nn SeparableConv @inputs @depthwise_kernel @pointwise_kernel strides padding
    data_format dilation_rate
sigmoid nn Sigmoid @x
sign numpy Sign @x
signbit numpy Signbit @x
silu nn Silu @x
sin numpy Sin @x
sinc numpy Sinc @x
sinh numpy Sinh @x
size numpy Size @x
slice core Slice @inputs @start_indices shape
slice_update core SliceUpdate @inputs @start_indices @updates
slogdet numpy Slogdet @x
sobel_edges image SobelEdges @images data_format
soft_shrink nn SoftShrink @x threshold
softmax nn Softmax @x axis
softplus nn Softplus @x
softsign nn Softsign @x
solve linalg Solve @a @b
solve_triangular linalg SolveTriangular @a @b lower
sort numpy Sort @x axis
space_to_depth nn SpaceToDepth @x block_size data_format
sparse_categorical_crossentropy nn SparseCategoricalCrossentropy @target @output from_logits
    axis
sparse_plus nn SparsePlus @x
sparse_sigmoid nn SparseSigmoid @x
sparsemax nn Sparsemax @x axis
split numpy Split @x indices_or_sections axis
sqrt numpy Sqrt @x
square numpy Square @x
squareplus nn Squareplus @x b
squeeze numpy Squeeze @x axis
ssim image SSIM @image1 @image2 max_val filter_size filter_sigma k1 k2 data_format
stack numpy Stack @x axis
std numpy Std @x axis keepdims
stft math STFT @x sequence_length sequence_stride fft_length window center
stop_gradient core StopGradient @variable
subtract numpy Subtract @x1 @x2
sum numpy Sum @x axis keepdims
svd linalg SVD @x full_matrices compute_uv
swapaxes numpy Swapaxes @x axis1 axis2
swish nn Silu @x
switch core Switch @index @branches *@operands
take numpy Take @x @indices axis
take_along_axis numpy TakeAlongAxis @x @indices axis
tan numpy Tan @x
tanh numpy Tanh @x
tanh_shrink nn TanhShrink @x
tensordot numpy Tensordot @x1 @x2 axes
threshold nn Threshold @x threshold default_value
tile numpy Tile @x repeats
top_k math TopK @x k sorted
trace numpy Trace @x offset axis1 axis2
transpose numpy Transpose @x axes
trapezoid numpy Trapezoid @y x dx axis
tril numpy Tril @x k
triu numpy Triu @x k
true_divide numpy TrueDivide @x1 @x2
trunc numpy Trunc @x
unfold nn Unfold @x kernel_size dilation padding stride
unique numpy Unique @x sorted return_index return_inverse return_counts axis size fill_value
unravel_index numpy UnravelIndex @indices shape
unstack core Unstack @x num axis
vander numpy Vander @x N increasing
var numpy Var @x axis keepdims
vdot numpy Vdot @x1 @x2
vectorized_map core VectorizedMap function @elements
view numpy View @x dtype
view_as_complex math ViewAsComplex @x
view_as_real math ViewAsReal @x
vsplit numpy Vsplit @x indices_or_sections
vstack numpy Vstack @xs
where numpy Where @condition @x1 @x2
while_loop core WhileLoop cond body @loop_vars maximum_iterations
zeros_like numpy ZerosLike @x dtype
"""


@dataclass(frozen=True)
class KerasOp:
    """One Keras 3 op function and the op class that records it."""

    function: str
    module: str  # e.g. "keras.src.ops.numpy"
    class_name: str
    params: tuple  # ((name, stars, is_call), ...) in the function's order
    defaults: tuple = ()  # ((name, value), ...) of the parameters only **kwargs takes

    @property
    def init_names(self) -> list:
        return [n for n, stars, call in self.params if not call and not stars]

    @property
    def call_params(self) -> list:
        return [(n, stars) for n, stars, call in self.params if call]

    @functools.cached_property
    def signature(self) -> inspect.Signature:
        """The Keras function's signature, every parameter optional (for binding)."""
        positional, keyword, var_kw = [], [], []
        after_var = False
        for name, stars, _ in self.params:
            if stars == "**":
                var_kw.append(inspect.Parameter(name, inspect.Parameter.VAR_KEYWORD))
            elif stars == "*":
                positional.append(inspect.Parameter(name, inspect.Parameter.VAR_POSITIONAL))
                after_var = True
            elif after_var or var_kw:
                keyword.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                                 default=_UNSET))
            else:
                positional.append(inspect.Parameter(
                    name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=_UNSET))
        return inspect.Signature(positional + keyword + var_kw)

    def jkeras_function(self):
        """The public jkeras function of this op (None if jkeras lacks it)."""
        short = self.module.rsplit(".", 1)[-1]
        for path in (f"jkeras.ops.{short}", "jkeras.ops"):
            fn = getattr(importlib.import_module(path), self.function, None)
            if callable(fn):
                return fn
        return None


_UNSET = object()  # the default of every parameter in KerasOp.signature


def _parse(table: str) -> dict:
    rows, current = [], None
    for line in table.splitlines():
        if not line.strip():
            continue
        if line[:1].isspace():
            current.extend(line.split())
        else:
            current = line.split()
            rows.append(current)
    out = {}
    for function, module, class_name, *tokens in rows:
        params, defaults = [], []
        for tok in tokens:
            stars = tok[:len(tok) - len(tok.lstrip("*"))]
            tok, _, default = tok[len(stars):].partition("=")
            params.append((tok.lstrip("@"), stars, tok.startswith("@")))
            if default:
                defaults.append((tok, ast.literal_eval(default)))
        out[function] = KerasOp(function, f"keras.src.ops.{module}", class_name, tuple(params),
                                tuple(defaults))
    return out


_OPS = _parse(_TABLE)
_BY_CLASS: dict = {}
for _op in _OPS.values():
    # several functions share a class (silu/swish): the one named like the class wins
    known = _BY_CLASS.get(_op.class_name)
    if known is None or _op.function.replace("_", "") == _op.class_name.lower():
        _BY_CLASS[_op.class_name] = _op
del _op


def for_op_name(op_name: str) -> KerasOp | None:
    """The Keras op of a jkeras op name (`einsum`, `getitem`, `abs`), or None."""
    return _OPS.get(_ALIASES.get(op_name, op_name))


def for_class(class_name: str) -> KerasOp | None:
    """The Keras op of a Keras op class name (`Einsum`, `GetItem`, `LayerNorm`)."""
    return _BY_CLASS.get(class_name)


def _defaults(fn) -> dict:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}


def split_call(op: KerasOp, fn, args: tuple, kwargs: dict):
    """(config, call_args, call_kwargs) as Keras writes the call `fn(*args, **kwargs)`
    of this op: constructor arguments (defaults from `fn` included) for the op's
    config, call arguments for the node. None when the call does not bind to Keras's
    signature (the caller then writes it as jkeras recorded it)."""
    try:
        bound = op.signature.bind(*args, **kwargs).arguments
    except TypeError:
        return None
    defaults = {**dict(op.defaults), **_defaults(fn)}
    extra = {}
    for name, stars, _ in op.params:
        if stars == "**":
            extra = dict(bound.pop(name, {}))
    config = {}
    for name in op.init_names:
        if name in bound:
            config[name] = bound[name]
        elif name in extra:
            config[name] = extra.pop(name)
        elif name in defaults:
            config[name] = defaults[name]
    call_args, call_kwargs, positional = [], {}, True
    for name, stars in op.call_params:
        if stars == "*":
            call_args.extend(bound.get(name, ()))
        elif stars == "**":
            call_kwargs.update(extra)
            extra = {}
        elif positional and (name in bound or name in defaults):
            call_args.append(bound[name] if name in bound else defaults[name])
        elif name in bound:
            call_kwargs[name] = bound[name]
        else:
            positional = False
    call_kwargs.update(extra)  # keywords Keras's function takes through **kwargs
    return config, call_args, call_kwargs


def is_keras_form(op: KerasOp, config: dict) -> bool:
    """Whether an op's saved config is Keras's (its constructor arguments present),
    rather than an older jkeras file's (name only; the node holds the whole call)."""
    names = op.init_names
    return not names or any(n in config for n in names)


def join_call(op: KerasOp, config: dict, args: list, kwargs: dict) -> tuple:
    """The (args, kwargs) of the function call that Keras's op `config` plus a node's
    call arguments stand for."""
    values, args, kwargs = {}, list(args), dict(kwargs)
    for name, stars in op.call_params:
        if stars == "*":
            values[name] = tuple(args)
            args = []
        elif stars == "**":
            values.update(kwargs)
            kwargs = {}
        elif args:
            values[name] = args.pop(0)
        elif name in kwargs:
            values[name] = kwargs.pop(name)
    if args:
        raise ValueError(f"op {op.class_name}: {len(args)} more positional argument(s) than "
                         f"its call takes ({[n for n, _ in op.call_params]}).")
    values.update(kwargs)
    values.update({k: v for k, v in config.items() if k not in values})
    out_args, out_kwargs, positional = [], {}, True
    for name, stars, _ in op.params:
        if stars == "*":
            out_args.extend(values.pop(name, ()))
            positional = False
        elif stars == "**":
            positional = False
        elif positional and name in values:
            out_args.append(values.pop(name))
        else:
            positional = False
    out_kwargs.update(values)
    return out_args, out_kwargs
