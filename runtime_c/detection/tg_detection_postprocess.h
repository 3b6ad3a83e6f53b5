/* tinygen runtime: DETECTION_POSTPROCESS (TFLite custom op TFLite_Detection_PostProcess), float32.
 *
 * boxes: num_boxes rows of box_stride floats, the first 4 a centre-size encoding (y, x, h, w);
 * scores: num_boxes rows of num_columns floats (num_columns = num_classes, or num_classes + 1 with a
 * leading background column that is skipped); anchors: num_boxes rows (y, x, h, w).
 * Each box is decoded against its anchor in double precision and stored as float (ymin, xmin, ymax, xmax).
 * use_regular_nms = 0 (fast NMS): every box is scored by its best class and one NMS pass keeps at most
 * max_detections boxes, one class each; 1 (regular NMS): NMS per class (at most detections_per_class
 * each), merged keeping the max_detections best scores. A box is a candidate when its score is
 * >= score_threshold; a candidate is dropped when its IoU with a kept, better one is > iou_threshold.
 * Ties in score keep the lower index first.
 * Outputs: out_boxes [max_detections][4], out_classes / out_scores [max_detections] (rows past the
 * detections are 0), out_num[0] = the number of detections.
 * scratch: tg_detection_postprocess_f32_get_buffer_size(num_boxes, max_detections) bytes,
 * 4-byte aligned. Returns TG_ERROR (outputs all 0) when a decoded box has ymin >= ymax or xmin >= xmax,
 * as TFLM refuses such input; TG_OK otherwise.
 */
#ifndef TG_DETECTION_POSTPROCESS_H
#define TG_DETECTION_POSTPROCESS_H

#include "tg_common.h"

int tg_detection_postprocess_f32(const float *boxes, const float *scores, const float *anchors,
                                 float *out_boxes, float *out_classes, float *out_scores, float *out_num,
                                 int32_t num_boxes, int32_t box_stride, int32_t num_classes,
                                 int32_t num_columns, int32_t max_detections, int32_t detections_per_class,
                                 int32_t use_regular_nms, float score_threshold, float iou_threshold,
                                 float y_scale, float x_scale, float h_scale, float w_scale, void *scratch);

int32_t tg_detection_postprocess_f32_get_buffer_size(int32_t num_boxes, int32_t max_detections);

#endif /* TG_DETECTION_POSTPROCESS_H */
