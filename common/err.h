/* SPDX-License-Identifier: MIT */
/* err.h: result codes shared by every pinhole module. 0 is success. */
#ifndef PINHOLE_ERR_H
#define PINHOLE_ERR_H

enum {
    PINHOLE_OK = 0,
    PINHOLE_EINVAL = -1,  /* bad argument or malformed input */
    PINHOLE_ENOMEM = -2,  /* allocation failed or a bound was reached */
    PINHOLE_EIO = -3,     /* file or device error */
    PINHOLE_EFORMAT = -4, /* file format not understood */
    PINHOLE_EOF = -5,     /* no more data */
};

#endif
