"""Writes an aclImdb-layout folder of synthetic reviews for the textcnn
comparison (train/{neg,pos}, test/{neg,pos}; one review a file, with <br />
line breaks): each review mixes neutral words with a few sentiment words,
some of them of the opposite class and some negated ("not good"), so that a
bag of words is not enough and the classes overlap.

    /usr/bin/python3 bench/gen_aclimdb.py DIR [--train 2000] [--test 1000] [--seed 1]
"""
import argparse
import os
import random

POS = 'good great superb lovely moving brilliant charming delightful fine enjoyable'.split()
NEG = 'bad awful dull boring poor weak tedious clumsy bland messy'.split()
NEUTRAL = ('the a film movie plot actor actress scene story director camera music it was and of to in '
           'with this that for on as but character script ending part time').split()


def review(rng, label):
    words = []
    for _ in range(rng.randint(20, 140)):
        x = rng.random()
        if x < 0.06:
            own, other = (POS, NEG) if label else (NEG, POS)
            if rng.random() < 0.25:
                words += ['not', rng.choice(other)]   # "not bad" counts for the review's own class
            else:
                words.append(rng.choice(own if rng.random() < 0.75 else other))
        else:
            words.append(rng.choice(NEUTRAL))
        if rng.random() < 0.03:
            words.append('.<br /><br />')
    return ' '.join(words).replace(' .<br /><br />', '.<br /><br />')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('dir')
    ap.add_argument('--train', type=int, default=2000)
    ap.add_argument('--test', type=int, default=1000)
    ap.add_argument('--seed', type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    for split, n in (('train', a.train), ('test', a.test)):
        for label, name in ((0, 'neg'), (1, 'pos')):
            d = os.path.join(a.dir, split, name)
            os.makedirs(d, exist_ok=True)
            for i in range(n // 2):
                with open(os.path.join(d, '%d_%d.txt' % (i, 8 if label else 3)), 'w') as f:
                    f.write(review(rng, label))


if __name__ == '__main__':
    main()
