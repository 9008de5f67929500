/* The tests' reference convolution (naive_conv.h). */
#include "naive_conv.h"

naive_dims naive_conv_dims(const naive_conv_case *b)
{
    naive_dims m;
    for (int a = 0; a < 3; a++) m.in[a] = m.k[a] = m.s[a] = m.d[a] = 1, m.pb[a] = 0;
    for (int i = 0; i < b->nd; i++) {
        int a = 3 - b->nd + i;
        m.in[a] = b->sp[i], m.k[a] = b->k[i], m.s[a] = b->s[i], m.d[a] = b->d[i], m.pb[a] = b->pb[i];
    }
    for (int a = 0; a < 3; a++) {
        int64_t pa = a >= 3 - b->nd ? b->pa[a - (3 - b->nd)] : 0;
        m.out[a] = (m.in[a] + m.pb[a] + pa - (m.k[a] - 1) * m.d[a] - 1) / m.s[a] + 1;
    }
    return m;
}

void naive_conv(const naive_conv_case *b, const float *x, const float *w, const float *bias, const float *gy,
                double *y, double *dx, double *dw, double *db)
{
    naive_dims m = naive_conv_dims(b);
    int64_t cg = b->c / b->groups, fg = b->f / b->groups;
    int64_t opos = m.out[0] * m.out[1] * m.out[2], ipos = m.in[0] * m.in[1] * m.in[2];
    for (int64_t n = 0; n < b->n; n++)
        for (int64_t o = 0; o < opos; o++) {
            int64_t od = o / (m.out[1] * m.out[2]), oh = (o / m.out[2]) % m.out[1], ow = o % m.out[2];
            for (int64_t f = 0; f < b->f; f++) {
                int64_t g = f / fg, yi = (n * opos + o) * b->f + f;
                double acc = bias ? bias[f] : 0;
                db[f] += gy[yi];
                for (int64_t kd = 0; kd < m.k[0]; kd++)
                    for (int64_t kh = 0; kh < m.k[1]; kh++)
                        for (int64_t kw = 0; kw < m.k[2]; kw++) {
                            int64_t id = od * m.s[0] - m.pb[0] + kd * m.d[0], ih = oh * m.s[1] - m.pb[1] + kh * m.d[1],
                                    iw = ow * m.s[2] - m.pb[2] + kw * m.d[2];
                            if (id < 0 || id >= m.in[0] || ih < 0 || ih >= m.in[1] || iw < 0 || iw >= m.in[2]) continue;
                            for (int64_t c = 0; c < cg; c++) {
                                int64_t xi = (n * ipos + (id * m.in[1] + ih) * m.in[2] + iw) * b->c + g * cg + c;
                                int64_t wi = (((kd * m.k[1] + kh) * m.k[2] + kw) * cg + c) * b->f + f;
                                acc += (double)x[xi] * w[wi];
                                dx[xi] += (double)gy[yi] * w[wi];
                                dw[wi] += (double)gy[yi] * x[xi];
                            }
                        }
                y[yi] = acc;
            }
        }
}
