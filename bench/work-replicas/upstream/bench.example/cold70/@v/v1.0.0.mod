module bench.example/cold70

go 1.21
