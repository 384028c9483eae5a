DROP TABLE shipment_lines;
DROP TABLE shipments;
DROP TABLE payments;
DROP TABLE order_lines;
DROP TABLE orders;
DROP TABLE document_numbers;
