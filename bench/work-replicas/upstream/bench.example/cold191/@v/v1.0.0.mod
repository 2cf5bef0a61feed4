module bench.example/cold191

go 1.21
