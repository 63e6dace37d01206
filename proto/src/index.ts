import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * gRPC contracts loaded at run time with proto-loader (no code generator to install). The
 * TypeScript shapes below mirror the `.proto` messages as proto-loader presents them with
 * `protoLoaderOptions` (field names as written, 64-bit values as strings, enums as strings).
 */
export const protoRoot = fileURLToPath(new URL('..', import.meta.url));
export const inventoryProtoFile = 'bitv/inventory/v1/inventory.proto';
export const ordersProtoFile = 'bitv/orders/v1/orders.proto';

export const protoLoaderOptions: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [protoRoot],
};

export interface GetStockRequest {
  sku: string;
  site_id: string;
}

export interface BinStock {
  site_id: string;
  shelf_id: string;
  bin: number;
  count: number;
  confidence: number;
}

export interface Stock {
  sku: string;
  on_hand: number;
  reserved: number;
  available: number;
  bins: BinStock[];
}

export interface ReserveRequest {
  sku: string;
  quantity: number;
  reference: string;
  ttl_seconds: number;
}

export interface ReleaseRequest {
  reservation_id: string;
}

export interface Reservation {
  id: string;
  sku: string;
  quantity: number;
  reference: string;
  status: string;
  expires_at: string;
}

/** Server-side handlers of `bitv.inventory.v1.InventoryService`. */
export interface InventoryServiceHandlers extends grpc.UntypedServiceImplementation {
  GetStock: grpc.handleUnaryCall<GetStockRequest, Stock>;
  Reserve: grpc.handleUnaryCall<ReserveRequest, Reservation>;
  Release: grpc.handleUnaryCall<ReleaseRequest, Reservation>;
}

type Unary<Req, Res> = (
  request: Partial<Req>,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response?: Res) => void,
) => grpc.ClientUnaryCall;

/** A client of `bitv.inventory.v1.InventoryService`. */
export interface InventoryServiceClient extends grpc.Client {
  GetStock: Unary<GetStockRequest, Stock>;
  Reserve: Unary<ReserveRequest, Reservation>;
  Release: Unary<ReleaseRequest, Reservation>;
}

export interface InventoryServiceDefinition {
  service: grpc.ServiceDefinition;
  Client: new (
    address: string,
    credentials: grpc.ChannelCredentials,
    options?: grpc.ClientOptions,
  ) => InventoryServiceClient;
}

let inventoryCache: InventoryServiceDefinition | undefined;

/** Loads the inventory service definition (once per process). */
export function loadInventoryService(): InventoryServiceDefinition {
  if (inventoryCache) return inventoryCache;
  const definition = protoLoader.loadSync(inventoryProtoFile, protoLoaderOptions);
  const root = grpc.loadPackageDefinition(definition) as unknown as {
    bitv: { inventory: { v1: { InventoryService: grpc.ServiceClientConstructor } } };
  };
  const ctor = root.bitv.inventory.v1.InventoryService;
  inventoryCache = {
    service: ctor.service,
    Client: ctor as unknown as InventoryServiceDefinition['Client'],
  };
  return inventoryCache;
}

/** Calls a unary method as a promise (the client API is callback-based). */
export function callUnary<Req, Res>(
  method: Unary<Req, Res>,
  client: grpc.Client,
  request: Partial<Req>,
  metadata: grpc.Metadata = new grpc.Metadata(),
  options: Partial<grpc.CallOptions> = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, request, metadata, options, (error, response) => {
      if (error) reject(error);
      else resolve(response as Res);
    });
  });
}

export interface OrderLineMessage {
  line_id: string;
  sku: string;
  quantity: number;
}

export interface PlaceOrderRequest {
  site_id: string;
  customer_id: string;
  lines: OrderLineMessage[];
  idempotency_key: string;
}

export interface GetOrderRequest {
  order_id: string;
}

export interface CancelOrderRequest {
  order_id: string;
  reason: string;
}

export interface OrderMessage {
  order_id: string;
  site_id: string;
  customer_id: string;
  status: string;
  lines: OrderLineMessage[];
}

export interface OrderDetailMessage {
  order: OrderMessage;
  timeline: { version: number; type: string; data_json: string; at: string }[];
  rejection_code: string;
  rejection_reason: string;
}

/** Server-side handlers of `bitv.orders.v1.OrderService`. */
export interface OrderServiceHandlers extends grpc.UntypedServiceImplementation {
  PlaceOrder: grpc.handleUnaryCall<PlaceOrderRequest, OrderMessage>;
  GetOrder: grpc.handleUnaryCall<GetOrderRequest, OrderDetailMessage>;
  CancelOrder: grpc.handleUnaryCall<CancelOrderRequest, OrderMessage>;
}

/** A client of `bitv.orders.v1.OrderService`. */
export interface OrderServiceClient extends grpc.Client {
  PlaceOrder: Unary<PlaceOrderRequest, OrderMessage>;
  GetOrder: Unary<GetOrderRequest, OrderDetailMessage>;
  CancelOrder: Unary<CancelOrderRequest, OrderMessage>;
}

export interface OrderServiceDefinition {
  service: grpc.ServiceDefinition;
  Client: new (
    address: string,
    credentials: grpc.ChannelCredentials,
    options?: grpc.ClientOptions,
  ) => OrderServiceClient;
}

let ordersCache: OrderServiceDefinition | undefined;

/** Loads the order service definition (once per process). */
export function loadOrderService(): OrderServiceDefinition {
  if (ordersCache) return ordersCache;
  const definition = protoLoader.loadSync(ordersProtoFile, protoLoaderOptions);
  const root = grpc.loadPackageDefinition(definition) as unknown as {
    bitv: { orders: { v1: { OrderService: grpc.ServiceClientConstructor } } };
  };
  const ctor = root.bitv.orders.v1.OrderService;
  ordersCache = { service: ctor.service, Client: ctor as unknown as OrderServiceDefinition['Client'] };
  return ordersCache;
}
