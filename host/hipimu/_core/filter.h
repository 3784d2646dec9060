/* Orientation filter (issue 3). Method table entries are collected by module.c. */
#ifndef HIPIMU_FILTER_H
#define HIPIMU_FILTER_H

#define HQ_FILTER_METHODS

#endif
