/**
 * The demo warehouse's goods: what the simulator puts on its shelves and what the cloud's demo seed
 * lists as products, so the two agree. One product has one SKU, one name and one unit weight
 * wherever it sits (two bins of cable ties are the same product); weights are the packed unit's,
 * and unique, so a bin's unit weight names its product.
 */
export interface CatalogueProduct {
  sku: string;
  name: string;
  /** Grams per unit as picked (a box, a bag or a single part). */
  unitWeightG: number;
}

export const demoCatalogue: readonly CatalogueProduct[] = [
  { sku: 'WSH-M10-10', name: 'Spring washers M10, bag of 10', unitWeightG: 18.5 },
  { sku: 'NUT-M16', name: 'Hex nut M16', unitWeightG: 34 },
  { sku: 'PLG-8-50', name: 'Wall plugs 8 mm, bag of 50', unitWeightG: 62.5 },
  { sku: 'BLT-M12X80', name: 'Hex bolt M12 × 80', unitWeightG: 85 },
  { sku: 'BRK-90', name: 'Angle bracket 90 × 90 mm', unitWeightG: 120 },
  { sku: 'HNG-100', name: 'Butt hinge 100 mm', unitWeightG: 160 },
  { sku: 'TIE-300-100', name: 'Cable ties 300 mm, pack of 100', unitWeightG: 250 },
  { sku: 'SCR-4X40-200', name: 'Wood screws 4 × 40, box of 200', unitWeightG: 480 },
  { sku: 'GLU-PVA-750', name: 'Wood glue 750 ml', unitWeightG: 820 },
  { sku: 'SIL-4', name: 'Silicone sealant, box of 4 cartridges', unitWeightG: 1500 },
];

/** The catalogue product of this unit weight, if any. */
export function productOfWeight(unitWeightG: number): CatalogueProduct | undefined {
  return demoCatalogue.find((p) => p.unitWeightG === unitWeightG);
}
