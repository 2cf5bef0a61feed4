module bench.example/cold264

go 1.21
